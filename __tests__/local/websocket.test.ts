/**
 * The local WebSocket API, driven by a `ws` client and the real management API client:
 * `$connect` receives API Gateway's event and can refuse, PostToConnection reaches the client,
 * and a closed connection is gone (GoneException) after `$disconnect`.
 */
import type { IncomingMessage } from 'node:http';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { silentLog } from '../../local/types';
import { startLocalWebSocket } from '../../local/websocket';

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

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function post(connectionId: string, data: string): Promise<unknown> {
  return management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
}

beforeEach(async () => {
  // Prepare
  connectEvents.length = 0;
  disconnectEvents.length = 0;
  connectResponse = { statusCode: 200 };
  expectDisconnect();
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
  });
  management = new ApiGatewayManagementApiClient({
    endpoint: server.managementEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
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

test('messages from a client are ignored and the connection stays open', async () => {
  // Prepare
  const { socket, messages } = await connect('?clientId=a');
  const connectionId: string = connectEvents[0].requestContext.connectionId;

  // Act
  socket.send('hello');
  await post(connectionId, 'still here');
  await until(() => messages.length === 1, 'the message');

  // Assess
  expect(messages).toEqual(['still here']);
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
