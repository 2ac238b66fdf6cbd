/**
 * The local WebSocket API, driven by a `ws` client and the real management API client:
 * `$connect` receives API Gateway's event and can refuse, PostToConnection reaches the client,
 * a closed connection is gone (GoneException) after `$disconnect`, a client's message is answered
 * by its route's MOCK integration as synthesized, and connections end at the idle timeout and at
 * the maximum duration.
 */
import type { IncomingMessage } from 'node:http';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { apiReplySchema, PING_MESSAGE, PONG_REPLY, UNKNOWN_ACTION_REPLY } from '../../contract';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { Notifications } from '../../modules/notifications';
import { silentLog } from '../../local/types';
import { type LocalWebSocketOptions, startLocalWebSocket } from '../../local/websocket';
import { type MockRouteConfig, websocketApiFromConfig } from '../../local/websocket-config';
import { synthStack } from '../helpers/synth';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const USER_ARN = 'arn:aws:iam::111122223333:user/local-developer';

let server: Awaited<ReturnType<typeof startLocalWebSocket>>;
let management: ApiGatewayManagementApiClient;
let connectResponse: unknown;
const connectEvents: Json[] = [];
const disconnectEvents: Json[] = [];
/** Resolved at each $disconnect. */
let disconnected: Promise<void>;
let onDisconnected: () => void;

function expectDisconnect(): void {
  disconnected = new Promise((resolve) => (onDisconnected = resolve));
}

/** Opens a client; resolves once open with the first messages collected as they come. */
function connect(query: string): Promise<{ socket: WebSocket; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.websocketUrl}${query}`);
    const messages: string[] = [];
    socket.on('message', (data, isBinary) => messages.push(isBinary ? '(binary)' : data.toString('utf8')));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('error', reject);
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function post(connectionId: string, data: string): Promise<unknown> {
  return management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
}

/** Starts the server (in place of the one beforeEach started) with these options. */
async function startServer(options: Partial<LocalWebSocketOptions> = {}): Promise<void> {
  await server?.close();
  management?.destroy();
  server = await startLocalWebSocket({
    stage: 'v1',
    identity: { userArn: USER_ARN, sourceIp: '127.0.0.1' },
    onConnect: async (event) => {
      connectEvents.push(event as Json);
      return connectResponse;
    },
    onDisconnect: async (event) => {
      disconnectEvents.push(event as Json);
      onDisconnected();
      return { statusCode: 200 };
    },
    log: silentLog,
    ...options,
  });
  management = new ApiGatewayManagementApiClient({
    endpoint: server.managementEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** The WebSocket API of a synthesized `Notifications`, as local mode reads it. */
const synthesizedApi = websocketApiFromConfig(
  synthStack((stack) => {
    new Notifications(stack, 'notifications', { runRequestsTable: new RunRequestsTable(stack, 'table') });
  }),
);

beforeEach(async () => {
  // Prepare
  connectEvents.length = 0;
  disconnectEvents.length = 0;
  connectResponse = { statusCode: 200 };
  expectDisconnect();
  await startServer();
});

afterEach(async () => {
  management.destroy();
  await server.close();
});

test('the URLs name the stage', () => {
  expect(server.websocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1$/);
  expect(server.managementEndpoint).toBe(`${server.url}/v1`);
});

test('$connect receives the event of a Lambda proxy integration', async () => {
  // Act
  const { socket } = await connect('?clientId=a');

  // Assess
  expect(connectEvents).toHaveLength(1);
  const event = connectEvents[0];
  expect(event.queryStringParameters).toEqual({ clientId: 'a' });
  expect(event.multiValueQueryStringParameters).toEqual({ clientId: ['a'] });
  expect(event.isBase64Encoded).toBe(false);
  expect(event.headers['Sec-WebSocket-Version']).toBe('13');
  expect(event.requestContext).toMatchObject({
    routeKey: '$connect',
    eventType: 'CONNECT',
    messageDirection: 'IN',
    stage: 'v1',
    apiId: 'local',
    domainName: new URL(server.url).host,
    identity: { userArn: USER_ARN, sourceIp: '127.0.0.1', accountId: '111122223333' },
  });
  expect(event.requestContext.connectionId).toMatch(/^[A-Za-z0-9]{15}=$/);
  expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9]{15}=$/);
  expect(typeof event.requestContext.connectedAt).toBe('number');
  expect(event.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  expect(server.connections()).toEqual([event.requestContext.connectionId]);
  socket.close();
});

test('without a query string, queryStringParameters is null', async () => {
  const { socket } = await connect('');
  expect(connectEvents[0].queryStringParameters).toBeNull();
  socket.close();
});

test('PostToConnection delivers the data to the client as one text message', async () => {
  // Prepare
  const { socket, messages } = await connect('?clientId=a');
  const connectionId: string = connectEvents[0].requestContext.connectionId;

  // Act
  await post(connectionId, JSON.stringify({ runRequestID: 'req-1', status: 'SUCCEEDED' }));
  await until(() => messages.length === 1, 'the message');
  const info = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));

  // Assess
  expect(JSON.parse(messages[0])).toEqual({ runRequestID: 'req-1', status: 'SUCCEEDED' });
  expect(info.ConnectedAt).toBeInstanceOf(Date);
  expect(info.Identity?.SourceIp).toBe('127.0.0.1');
  socket.close();
});

test('after the client closes, $disconnect runs and PostToConnection throws GoneException', async () => {
  // Prepare
  const { socket } = await connect('?clientId=a');
  const connectionId: string = connectEvents[0].requestContext.connectionId;

  // Act
  socket.close(1000, 'bye');
  await disconnected;
  let gone: Error | undefined;
  try {
    await post(connectionId, '{}');
  } catch (err) {
    gone = err as Error;
  }

  // Assess
  expect(disconnectEvents).toHaveLength(1);
  expect(disconnectEvents[0].requestContext).toMatchObject({
    routeKey: '$disconnect',
    eventType: 'DISCONNECT',
    connectionId,
    disconnectStatusCode: 1000,
    disconnectReason: 'bye',
    identity: { userArn: USER_ARN },
  });
  expect(gone?.name).toBe('GoneException');
  expect((gone as unknown as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(410);
  expect(server.connections()).toEqual([]);
});

test('DeleteConnection closes the socket and runs $disconnect', async () => {
  // Prepare
  const { socket } = await connect('?clientId=a');
  const connectionId: string = connectEvents[0].requestContext.connectionId;
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

  // Act
  await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

  // Assess
  expect(await closed).toBe(1000);
  await disconnected;
  expect(disconnectEvents[0].requestContext.connectionId).toBe(connectionId);
});

test('$connect answering 400 refuses the connection with that status', async () => {
  // Prepare
  connectResponse = { statusCode: 400, body: 'clientId is required' };

  // Act
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const socket = new WebSocket(server.websocketUrl);
    socket.once('unexpected-response', (_req, res) => resolve(res));
    socket.once('open', () => reject(new Error('the connection was accepted')));
  });
  let body = '';
  for await (const chunk of response) body += String(chunk);

  // Assess
  expect(response.statusCode).toBe(400);
  expect(body).toBe('clientId is required');
  expect(connectEvents).toHaveLength(1);
  expect(server.connections()).toEqual([]);
  expect(disconnectEvents).toHaveLength(0);
});

test('$connect throwing refuses the connection with 500', async () => {
  // Prepare
  connectResponse = Promise.reject(new Error('table missing'));
  (connectResponse as Promise<unknown>).catch(() => undefined);

  // Act
  const status = await new Promise<number | undefined>((resolve) => {
    const socket = new WebSocket(server.websocketUrl);
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode));
  });

  // Assess
  expect(status).toBe(500);
});

test('without a route for a message, nor $default, the client is told Forbidden and stays connected', async () => {
  // Prepare
  const { socket, messages } = await connect('?clientId=a');
  const connectionId: string = connectEvents[0].requestContext.connectionId;

  // Act
  socket.send('hello');
  await until(() => messages.length === 1, 'the answer');
  await post(connectionId, 'still here');
  await until(() => messages.length === 2, 'the message');

  // Assess
  expect(JSON.parse(messages[0])).toEqual({ message: 'Forbidden', connectionId, requestId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/) });
  expect(messages[1]).toBe('still here');
  socket.close();
});

test('close() ends open connections with $disconnect', async () => {
  // Prepare
  const { socket } = await connect('?clientId=a');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

  // Act
  await server.close();

  // Assess
  expect(await closed).toBe(1001);
  expect(disconnectEvents).toHaveLength(1);
  // afterEach closes again: a second close must be harmless.
});

describe('the synthesized WebSocket API, as local mode reads it', () => {
  test('$connect and $disconnect are served by their functions, every other route by a two-way MOCK integration', () => {
    expect(synthesizedApi).toMatchObject({ stage: 'v1', routeSelectionExpression: '$request.body.action' });
    expect(synthesizedApi.connectFunction.bundle).toBe('ws-connect');
    expect(synthesizedApi.disconnectFunction.bundle).toBe('ws-disconnect');
    expect(Object.keys(synthesizedApi.messageRoutes).sort()).toEqual(['$default', 'ping']);
    expect(synthesizedApi.messageRoutes.ping).toEqual({
      routeKey: 'ping',
      templateSelectionExpression: '\\$default',
      requestTemplates: { $default: '{"statusCode": 200}' },
      integrationResponses: [{ key: '$default', templateSelectionExpression: '\\$default', responseTemplates: { $default: JSON.stringify(PONG_REPLY) } }],
      twoWay: true,
    });
  });

  test('a message route with another integration type is refused, named', () => {
    // Prepare
    const json = synthStack((stack) => {
      new Notifications(stack, 'notifications', { runRequestsTable: new RunRequestsTable(stack, 'table') });
    });
    const pingIntegration = Object.keys(json.resource.aws_apigatewayv2_integration).find((key) => key.includes('_ping-integration'))!;
    json.resource.aws_apigatewayv2_integration[pingIntegration].integration_type = 'HTTP';

    // Act + Assess
    expect(() => websocketApiFromConfig(json)).toThrow('local mode answers client messages from MOCK integrations only: route ping has a HTTP integration');
  });
});

describe('client messages', () => {
  beforeEach(async () => {
    await startServer({ messageRoutes: synthesizedApi.messageRoutes, routeSelectionExpression: synthesizedApi.routeSelectionExpression });
  });

  test('a ping is answered with what the ping route\'s response template renders', async () => {
    // Prepare
    const { socket, messages } = await connect('?clientId=a');

    // Act
    socket.send(JSON.stringify(PING_MESSAGE));
    await until(() => messages.length === 1, 'the answer');

    // Assess
    expect(apiReplySchema.parse(JSON.parse(messages[0]))).toEqual(PONG_REPLY);
    socket.close();
  });

  test.each([
    ['another action', JSON.stringify({ action: 'subscribe' })],
    ['a message without action', JSON.stringify({ ping: true })],
    ['a message that is not JSON', 'ping'],
    ['an action named after an object property', JSON.stringify({ action: 'constructor' })],
  ])('%s is answered by the $default route with an error naming the ping', async (_what, message) => {
    // Prepare
    const { socket, messages } = await connect('?clientId=a');

    // Act
    socket.send(message);
    await until(() => messages.length === 1, 'the answer');

    // Assess
    expect(JSON.parse(messages[0])).toEqual(UNKNOWN_ACTION_REPLY);
    socket.close();
  });

  test('the reply is rendered from the route\'s templates (Velocity, with $context), not written in local mode', async () => {
    // Prepare: the same route with other templates, an integration response for 2xx and a fallback.
    const ping = synthesizedApi.messageRoutes.ping;
    const custom: MockRouteConfig = {
      ...ping,
      templateSelectionExpression: '${request.body.action}',
      requestTemplates: { ping: '{"statusCode": 204}', $default: '{"statusCode": 500}' },
      integrationResponses: [
        { key: '$default', responseTemplates: { $default: '{"unexpected": true}' } },
        { key: '/2\\d\\d/', templateSelectionExpression: '${integration.response.statuscode}', responseTemplates: { '204': '{"action":"pong","route":"$context.routeKey"}' } },
      ],
    };
    await startServer({ messageRoutes: { ping: custom } });
    const { socket, messages } = await connect('?clientId=a');

    // Act
    socket.send(JSON.stringify(PING_MESSAGE));
    await until(() => messages.length === 1, 'the answer');

    // Assess
    expect(JSON.parse(messages[0])).toEqual({ action: 'pong', route: 'ping' });
    socket.close();
  });

  test('a one-way route (no route response) answers nothing', async () => {
    // Prepare
    const { ping, $default } = synthesizedApi.messageRoutes;
    await startServer({ messageRoutes: { ping: { ...ping, twoWay: false }, $default } });
    const { socket, messages } = await connect('?clientId=a');

    // Act: messages of one connection are handled in order, so once the second is answered the first was handled.
    socket.send(JSON.stringify(PING_MESSAGE));
    socket.send('something else');
    await until(() => messages.length === 1, 'the answer to the second message');

    // Assess
    expect(messages).toEqual([JSON.stringify(UNKNOWN_ACTION_REPLY)]);
    socket.close();
  });

  test('a MOCK request template that renders no statusCode gives API Gateway\'s internal server error', async () => {
    // Prepare
    await startServer({ messageRoutes: { ping: { ...synthesizedApi.messageRoutes.ping, requestTemplates: { $default: '{}' } } } });
    const { socket, messages } = await connect('?clientId=a');
    const connectionId: string = connectEvents[0].requestContext.connectionId;

    // Act
    socket.send(JSON.stringify(PING_MESSAGE));
    await until(() => messages.length === 1, 'the answer');

    // Assess
    expect(JSON.parse(messages[0])).toEqual({ message: 'Internal server error', connectionId, requestId: expect.any(String) });
    socket.close();
  });
});

describe('connection limits', () => {
  /** Resolves with the close code and the time the socket closed. */
  function closedAt(socket: WebSocket): Promise<{ code: number; at: number }> {
    return new Promise((resolve) => socket.once('close', (code) => resolve({ code, at: Date.now() })));
  }

  test('the limits default to API Gateway\'s: 10 minutes idle, 2 hours at most', () => {
    expect(server.limits).toEqual({ idleTimeoutMs: 600_000, maxConnectionMs: 7_200_000 });
  });

  test('an idle connection is closed after the idle timeout, with $disconnect', async () => {
    // Prepare
    await startServer({ idleTimeoutMs: 300 });
    const openedAt = Date.now();
    const { socket } = await connect('?clientId=a');
    const closed = closedAt(socket);

    // Act
    const { code, at } = await closed;
    await disconnected;

    // Assess
    expect(code).toBe(1001);
    expect(at - openedAt).toBeGreaterThanOrEqual(300);
    expect(disconnectEvents[0].requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
    expect(server.connections()).toEqual([]);
  });

  test('pings keep a connection open past the idle timeout; once they stop it closes', async () => {
    // Prepare: pings every 50 ms against a 1 s idle timeout.
    await startServer({ idleTimeoutMs: 1000, messageRoutes: synthesizedApi.messageRoutes });
    const openedAt = Date.now();
    const { socket, messages } = await connect('?clientId=a');
    const closed = closedAt(socket);
    const pinging = setInterval(() => socket.send(JSON.stringify(PING_MESSAGE)), 50);

    // Act: 3 idle timeouts' worth of pongs.
    try {
      await until(() => Date.now() - openedAt > 3000 && messages.length >= 3, 'three seconds of pongs', 10_000);
    } finally {
      clearInterval(pinging);
    }
    const lastPongAt = Date.now();
    const stillOpen = socket.readyState === WebSocket.OPEN;
    const { code, at } = await closed;

    // Assess
    expect(stillOpen).toBe(true);
    expect(messages.every((m) => m === JSON.stringify(PONG_REPLY))).toBe(true);
    expect(code).toBe(1001);
    expect(at - lastPongAt).toBeGreaterThanOrEqual(900);
  });

  test('a connection is closed at the maximum duration, pings or not', async () => {
    // Prepare
    await startServer({ maxConnectionMs: 1000, messageRoutes: synthesizedApi.messageRoutes });
    const openedAt = Date.now();
    const { socket } = await connect('?clientId=a');
    const closed = closedAt(socket);
    const pinging = setInterval(() => socket.send(JSON.stringify(PING_MESSAGE)), 50);

    // Act
    const { code, at } = await closed.finally(() => clearInterval(pinging));
    await disconnected;

    // Assess
    expect(code).toBe(1001);
    expect(at - openedAt).toBeGreaterThanOrEqual(1000);
    expect(disconnectEvents).toHaveLength(1);
  });

  test.each([
    ['idleTimeoutMs', 0],
    ['maxConnectionMs', 1.5],
  ])('refuses %s %p', async (name, value) => {
    await expect(startServer({ [name]: value })).rejects.toThrow(`${name} must be a whole number of milliseconds above 0 (got ${value})`);
  });
});
