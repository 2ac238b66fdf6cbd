/**
 * An API Gateway WebSocket API for the local mode, on one port: clients connect to
 * `ws://127.0.0.1:<port>/<stage>`, and `$connect` / `$disconnect` reach the given handlers with
 * the events a Lambda proxy integration receives; the management API (`/<stage>/@connections/<id>`)
 * is what notify posts to, as @aws-sdk/client-apigatewaymanagementapi sends it (restJson1).
 *
 * A client's message is routed by the route selection expression and answered by the route's MOCK
 * integration as configured: its request template renders the status code, the integration
 * response for that code renders the reply (Velocity, `local/apigw-vtl.ts`), and a two-way route
 * sends the reply to the client. Connections end as API Gateway ends them: after the idle timeout
 * without a message either way, and at the maximum connection duration (both configurable, so tests
 * need not wait 10 minutes).
 *
 * Errors of the management API carry their name in the `x-amzn-errortype` header, which the SDK
 * reads first for restJson1: a 410 with `GoneException` makes it throw `GoneException`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WEBSOCKET_LIMITS } from '../contract';
import { javaMatches, renderMappingTemplate } from './apigw-vtl';
import { closeServer, listenLocally } from './listen';
import type { LambdaHandler, LocalLog, LocalService } from './types';
import type { MockRouteConfig } from './websocket-config';

export interface LocalWebSocketOptions {
  /** @default - a free port on 127.0.0.1 */
  readonly port?: number;
  /** The stage name: the first path segment of both the WebSocket URL and the management API. */
  readonly stage: string;
  /** The SigV4 caller every connection is attributed to (local clients do not sign). */
  readonly identity: { readonly userArn: string; readonly sourceIp?: string };
  /** The `$connect` route: a statusCode other than 2xx refuses the connection with that status. */
  readonly onConnect: LambdaHandler;
  /** The `$disconnect` route: its answer is ignored, as API Gateway does. */
  readonly onDisconnect: LambdaHandler;
  /** Selects the route of a client's message. @default '$request.body.action' */
  readonly routeSelectionExpression?: string;
  /** Routes for client messages, by route key (`$default` catches the rest). @default - none: every message is refused */
  readonly messageRoutes?: Readonly<Record<string, MockRouteConfig>>;
  /** A connection with no message either way for this long is closed. @default 600000 (API Gateway's 10 minutes) */
  readonly idleTimeoutMs?: number;
  /** Any connection is closed this long after it opened. @default 7200000 (API Gateway's 2 hours) */
  readonly maxConnectionMs?: number;
  readonly log: LocalLog;
}

export interface LocalWebSocket extends LocalService {
  /** `ws://127.0.0.1:<port>/<stage>`: where clients connect. */
  readonly websocketUrl: string;
  /** `http://127.0.0.1:<port>/<stage>`: the management API's endpoint (WEBSOCKET_ENDPOINT). */
  readonly managementEndpoint: string;
  /** Ids of the open connections. */
  connections(): string[];
  /** The limits in force. */
  readonly limits: { readonly idleTimeoutMs: number; readonly maxConnectionMs: number };
}

/** API Gateway's limit on one message (PostToConnection's Data). */
const MAX_MESSAGE_BYTES = 128 * 1024;
const STAGE = /^[A-Za-z0-9_-]{1,128}$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string | null;
  /** Closes the connection when it has been idle too long; restarted by every message. */
  idleTimer?: NodeJS.Timeout;
  /** Closes the connection at the maximum duration. */
  maxTimer?: NodeJS.Timeout;
}

/**
 * The close code API Gateway's own disconnects (idle timeout, maximum duration) carry is not
 * documented; 1001 Going Away is what a server going away sends (RFC 6455, 7.4.1). A client must
 * reconnect whatever the code.
 */
const GOING_AWAY = 1001;

/**
 * An id shaped like API Gateway's connection and request ids ('L0SM9cOFvHcCIhw='): 15
 * characters and a '=', which the SDK percent-encodes in the management API's path.
 */
function gatewayId(): string {
  const bytes = randomBytes(15);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${id}=`;
}

/** `10/Jun/2024:06:19:58 +0000`, as requestContext.requestTime. */
function requestTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Headers with the casing the client sent (API Gateway keeps it; Node lowercases `req.headers`). */
function headersOf(req: IncomingMessage): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

function accountOf(arn: string): string | null {
  return arn.split(':')[4] || null;
}

function isSuccess(response: unknown): boolean {
  const statusCode = (response as { statusCode?: unknown } | null | undefined)?.statusCode;
  // A proxy answer without a statusCode is a successful invocation: the route accepts.
  return statusCode === undefined || (typeof statusCode === 'number' && statusCode >= 200 && statusCode < 300);
}

/** Answers an upgrade request with a plain HTTP response and closes the socket (the client sees the status). */
function refuseUpgrade(socket: Socket, statusCode: number, body: string): void {
  if (socket.destroyed) return;
  const payload = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${payload.length}\r\n` +
      'Connection: close\r\n\r\n' +
      payload.toString('utf8'),
  );
}

function sendError(res: ServerResponse, statusCode: number, errorType: string, message: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': errorType,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Evaluates a selection expression: `$request.body.<path>` and `${...}` read the variables `read`
 * knows (an unknown one reads as ""), `\$` is a literal `$` (as in `\$default`), anything else is
 * literal text.
 */
function evaluateSelection(expression: string, read: (variable: string) => string | undefined): string {
  return expression.replace(/\\\$|\$\{([^}]+)\}|\$([A-Za-z0-9_.-]+)/g, (match, braced: string | undefined, bare: string | undefined) =>
    match === '\\$' ? '$' : (read((braced ?? bare)!) ?? ''),
  );
}

/** `request.body.<path>` of a JSON message (a string, number or boolean), else undefined. */
function requestBodyVariable(body: string): (variable: string) => string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  return (variable) => {
    if (!variable.startsWith('request.body.')) return undefined;
    const value = variable
      .slice('request.body.'.length)
      .split('.')
      .reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), parsed);
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  };
}

/** The route key a message selects: its own route, else `$default`, else none. */
function selectRoute(expression: string, body: string, routes: Readonly<Record<string, MockRouteConfig>>): string | undefined {
  const key = evaluateSelection(expression, requestBodyVariable(body));
  // Own keys only: a message naming `constructor` or `__proto__` selects no route.
  if (Object.hasOwn(routes, key)) return key;
  return Object.hasOwn(routes, '$default') ? '$default' : undefined;
}

/**
 * A MOCK integration's answer: the request template selected by the integration's template
 * selection expression renders `{"statusCode": <n>}`; the integration response whose key matches
 * that code (`/regex/`, else `$default`) renders the reply with its selected response template.
 * Throws what API Gateway would report as an internal server error.
 */
function answerMock(route: MockRouteConfig, body: string, context: Record<string, unknown>): string {
  const bodyVariable = requestBodyVariable(body);
  const template = selectTemplate(route.requestTemplates, route.templateSelectionExpression, bodyVariable, `route ${route.routeKey}: request`);
  const rendered = renderMappingTemplate(template, { body, context }).output;
  let statusCode: unknown;
  try {
    statusCode = (JSON.parse(rendered) as { statusCode?: unknown }).statusCode;
  } catch {
    statusCode = undefined;
  }
  if (typeof statusCode !== 'number') throw new Error(`route ${route.routeKey}: a MOCK request template must render {"statusCode": <number>} (rendered ${JSON.stringify(rendered)})`);
  const status = String(statusCode);
  const response =
    route.integrationResponses.find((r) => /^\/.*\/$/.test(r.key) && javaMatches(status, r.key.slice(1, -1))) ?? route.integrationResponses.find((r) => r.key === '$default');
  if (!response) throw new Error(`route ${route.routeKey}: no integration response for status ${status}`);
  const read = (variable: string) => (variable === 'integration.response.statuscode' ? status : bodyVariable(variable));
  const responseTemplate = selectTemplate(response.responseTemplates, response.templateSelectionExpression, read, `route ${route.routeKey}: response`);
  // A MOCK integration has no backend body: the reply comes from the template alone.
  return renderMappingTemplate(responseTemplate, { body: '', context }).output;
}

/** The template a selection expression picks, or the `$default` one. */
function selectTemplate(templates: Readonly<Record<string, string>>, expression: string | undefined, read: (variable: string) => string | undefined, what: string): string {
  const key = expression === undefined ? '$default' : evaluateSelection(expression, read);
  const template = Object.hasOwn(templates, key) ? templates[key] : templates.$default;
  if (template === undefined) throw new Error(`${what} template: none for key ${JSON.stringify(key)} and no $default (local mode does not pass bodies through)`);
  return template;
}

/** Starts the WebSocket API and its management API on one port of 127.0.0.1. */
export async function startLocalWebSocket(options: LocalWebSocketOptions): Promise<LocalWebSocket> {
  const { stage, identity, log } = options;
  if (!STAGE.test(stage)) throw new Error(`stage must be 1 to 128 characters among A-Z a-z 0-9 _ - (got '${stage}')`);
  if (!identity.userArn.startsWith('arn:')) throw new Error(`identity.userArn must be an IAM ARN (got '${identity.userArn}')`);

  const routeSelectionExpression = options.routeSelectionExpression ?? '$request.body.action';
  const messageRoutes = options.messageRoutes ?? {};
  const idleTimeoutMs = options.idleTimeoutMs ?? WEBSOCKET_LIMITS.idleTimeoutSeconds * 1000;
  const maxConnectionMs = options.maxConnectionMs ?? WEBSOCKET_LIMITS.maxConnectionSeconds * 1000;
  for (const [name, ms] of [['idleTimeoutMs', idleTimeoutMs], ['maxConnectionMs', maxConnectionMs]] as const) {
    if (!(Number.isInteger(ms) && ms > 0)) throw new Error(`${name} must be a whole number of milliseconds above 0 (got ${ms})`);
  }
  const connections = new Map<string, Connection>();
  /** $connect and $disconnect invocations in flight: close() waits for them. */
  const pending = new Set<Promise<unknown>>();
  const wss = new WebSocketServer({ noServer: true });
  const managementPrefix = `/${stage}/@connections/`;
  let closing = false;

  function track<T>(promise: Promise<T>): Promise<T> {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  function requestContext(routeKey: string, eventType: 'CONNECT' | 'DISCONNECT' | 'MESSAGE', connection: Omit<Connection, 'socket' | 'lastActiveAt'>, domainName: string) {
    const now = Date.now();
    const requestId = gatewayId();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: requestTime(now),
      messageDirection: 'IN',
      stage,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      identity: {
        accountId: accountOf(identity.userArn),
        cognitoIdentityPoolId: null,
        cognitoIdentityId: null,
        principalOrgId: null,
        cognitoAuthenticationType: null,
        userArn: identity.userArn,
        userAgent: connection.userAgent,
        accessKey: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        sourceIp: connection.sourceIp,
        user: null,
      },
      requestId,
      domainName,
      connectionId: connection.id,
      apiId: 'local',
    };
  }

  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    // A client that goes away while $connect runs must not crash the server.
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (closing || (url.pathname !== `/${stage}` && url.pathname !== `/${stage}/`)) {
      refuseUpgrade(socket, closing ? 503 : 404, closing ? 'the local WebSocket API is stopping' : `no WebSocket stage at ${url.pathname}: connect to /${stage}`);
      return;
    }
    const connection = {
      id: gatewayId(),
      connectedAt: Date.now(),
      sourceIp: identity.sourceIp ?? req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? null,
    };
    const domainName = req.headers.host ?? '127.0.0.1';
    const query = [...url.searchParams.entries()];
    const queryStringParameters: Record<string, string> = {};
    const multiValueQueryStringParameters: Record<string, string[]> = {};
    for (const [name, value] of query) {
      queryStringParameters[name] = value;
      (multiValueQueryStringParameters[name] ??= []).push(value);
    }
    const { headers, multiValueHeaders } = headersOf(req);
    const event = {
      headers: { ...headers, 'X-Forwarded-For': connection.sourceIp, 'X-Forwarded-Proto': 'http' },
      multiValueHeaders: { ...multiValueHeaders, 'X-Forwarded-For': [connection.sourceIp], 'X-Forwarded-Proto': ['http'] },
      queryStringParameters: query.length > 0 ? queryStringParameters : null,
      multiValueQueryStringParameters: query.length > 0 ? multiValueQueryStringParameters : null,
      requestContext: requestContext('$connect', 'CONNECT', connection, domainName),
      isBase64Encoded: false,
    };

    let response: unknown;
    try {
      response = await track(options.onConnect(event));
    } catch (err) {
      // API Gateway answers 500 when the integration fails, without the details.
      log('ws connect failed', { connectionId: connection.id, error: (err as Error).message });
      refuseUpgrade(socket, 500, 'Internal server error');
      return;
    }
    if (!isSuccess(response)) {
      const { statusCode, body } = response as { statusCode: unknown; body?: unknown };
      const status = typeof statusCode === 'number' && statusCode >= 100 && statusCode <= 599 ? statusCode : 502;
      log('ws connect refused', { connectionId: connection.id, statusCode: status, reason: body });
      refuseUpgrade(socket, status, typeof body === 'string' ? body : '');
      return;
    }
    if (socket.destroyed || closing) {
      // Gone while $connect ran: API Gateway would then deliver $disconnect for the recorded connection.
      log('ws client left during connect', { connectionId: connection.id });
      void track(disconnect({ ...connection, lastActiveAt: connection.connectedAt }, domainName, 1006, 'Client left during $connect'));
      if (!socket.destroyed) socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const open: Connection = { ...connection, socket: ws, lastActiveAt: connection.connectedAt };
      connections.set(open.id, open);
      log('ws connected', { connectionId: open.id, clientId: queryStringParameters.clientId });
      touch(open);
      open.maxTimer = setTimeout(() => {
        log('ws connection closed at its maximum duration', { connectionId: open.id, maxConnectionMs });
        ws.close(GOING_AWAY, 'Going away');
      }, maxConnectionMs).unref();
      ws.on('message', (data, isBinary) => {
        touch(open);
        void track(answer(open, domainName, Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary));
      });
      ws.on('error', (err) => log('ws socket error', { connectionId: open.id, error: err.message }));
      ws.on('close', (code, reason) => {
        clearTimeout(open.idleTimer);
        clearTimeout(open.maxTimer);
        connections.delete(open.id);
        void track(disconnect(open, domainName, code, reason.toString('utf8')));
      });
    });
  }

  /** A message either way: the connection is active, its idle timeout starts again. */
  function touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      log('ws connection closed idle', { connectionId: connection.id, idleTimeoutMs });
      connection.socket.close(GOING_AWAY, 'Going away');
    }, idleTimeoutMs).unref();
  }

  /** Routes a client's message and sends what its route answers, as API Gateway does. */
  async function answer(connection: Connection, domainName: string, data: Buffer, isBinary: boolean): Promise<void> {
    const body = isBinary ? '' : data.toString('utf8');
    const requestId = gatewayId();
    const routeKey = selectRoute(routeSelectionExpression, body, messageRoutes);
    // API Gateway's own error frames carry the connection and request ids.
    const error = (message: string) => JSON.stringify({ message, connectionId: connection.id, requestId });
    let reply: string | undefined;
    if (routeKey === undefined) {
      // No route and no $default: API Gateway answers "Forbidden".
      reply = error('Forbidden');
    } else {
      const route = messageRoutes[routeKey];
      try {
        const output = answerMock(route, body, {
          ...requestContext(routeKey, 'MESSAGE', connection, domainName),
          requestId,
          messageId: gatewayId(),
        });
        reply = route.twoWay ? output : undefined;
      } catch (err) {
        log('ws route failed', { connectionId: connection.id, routeKey, error: (err as Error).message });
        reply = error('Internal server error');
      }
    }
    log('ws message', { connectionId: connection.id, routeKey: routeKey ?? null, bytes: data.length, replied: reply !== undefined });
    if (reply === undefined || connection.socket.readyState !== WebSocket.OPEN) return;
    connection.socket.send(reply, { binary: false });
    touch(connection);
  }

  async function disconnect(connection: Omit<Connection, 'socket'>, domainName: string, code: number, reason: string): Promise<void> {
    const event = {
      headers: { Host: domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
      multiValueHeaders: { Host: [domainName], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] },
      requestContext: {
        ...requestContext('$disconnect', 'DISCONNECT', connection, domainName),
        disconnectStatusCode: code,
        disconnectReason: reason || (code === 1005 ? 'Client-side close frame status not set' : ''),
      },
      isBase64Encoded: false,
    };
    log('ws disconnected', { connectionId: connection.id, code });
    try {
      await options.onDisconnect(event);
    } catch (err) {
      // API Gateway ignores $disconnect's outcome; the record expires by TTL.
      log('ws disconnect handler failed', { connectionId: connection.id, error: (err as Error).message });
    }
  }

  async function manage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (!path.startsWith(managementPrefix) || path.length === managementPrefix.length) {
      if (path === `/${stage}` || path === `/${stage}/`) {
        res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('connect with a WebSocket client');
        return;
      }
      sendError(res, 404, 'NotFoundException', `no such resource: ${req.method} ${path} (the management API is ${managementPrefix}<connectionId>)`);
      return;
    }
    let id: string;
    try {
      id = decodeURIComponent(path.slice(managementPrefix.length));
    } catch {
      sendError(res, 400, 'BadRequestException', 'the connection id is not a valid percent-encoded string');
      return;
    }
    const connection = connections.get(id);
    const open = connection?.socket.readyState === WebSocket.OPEN ? connection : undefined;
    switch (req.method) {
      case 'POST': {
        const body = await readBody(req);
        if (!open) {
          sendError(res, 410, 'GoneException', `connection ${id} is gone`);
          return;
        }
        if (body.length > MAX_MESSAGE_BYTES) {
          sendError(res, 413, 'PayloadTooLargeException', `Message too long: ${body.length} bytes, at most ${MAX_MESSAGE_BYTES}`);
          return;
        }
        try {
          await new Promise<void>((resolve, reject) => open.socket.send(body, { binary: false }, (err) => (err ? reject(err) : resolve())));
        } catch {
          sendError(res, 410, 'GoneException', `connection ${id} is gone`);
          return;
        }
        touch(open);
        res.writeHead(200, { 'content-length': 0, 'x-amzn-requestid': randomUUID() }).end();
        return;
      }
      case 'DELETE':
        if (!open) {
          sendError(res, 410, 'GoneException', `connection ${id} is gone`);
          return;
        }
        open.socket.close(1000, 'Closed by the management API');
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() }).end();
        return;
      case 'GET': {
        if (!open) {
          sendError(res, 410, 'GoneException', `connection ${id} is gone`);
          return;
        }
        const body = JSON.stringify({
          connectedAt: new Date(open.connectedAt).toISOString(),
          identity: { sourceIp: open.sourceIp, userAgent: open.userAgent ?? undefined },
          lastActiveAt: new Date(open.lastActiveAt).toISOString(),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() }).end(body);
        return;
      }
      default:
        sendError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported on ${managementPrefix}<connectionId>: POST, GET or DELETE`);
    }
  }

  const server = createServer((req, res) => {
    manage(req, res).catch((err: unknown) => {
      log('ws management request failed', { method: req.method, url: req.url, error: (err as Error).message });
      if (!res.headersSent) sendError(res, 500, 'InternalServerErrorException', 'the local WebSocket API failed: see its log');
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrade(req, socket, head).catch((err: unknown) => {
      log('ws upgrade failed', { url: req.url, error: (err as Error).message });
      refuseUpgrade(socket, 500, 'Internal server error');
    });
  });
  const url = await listenLocally(server, options.port);
  const websocketUrl = `${url.replace(/^http:/, 'ws:')}/${stage}`;
  const managementEndpoint = `${url}/${stage}`;
  log('ws listening', { websocketUrl, managementEndpoint });

  return {
    url,
    websocketUrl,
    managementEndpoint,
    connections: () => [...connections.keys()],
    limits: { idleTimeoutMs, maxConnectionMs },
    async close() {
      closing = true;
      // Each open connection ends as API Gateway ends them, with $disconnect.
      for (const connection of connections.values()) connection.socket.close(1001, 'Going away');
      // A client that does not answer the close frame is cut off after a short grace period.
      const drained = async (ms: number) => {
        const deadline = Date.now() + ms;
        while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      await drained(2000);
      for (const connection of connections.values()) connection.socket.terminate();
      await drained(1000);
      while (pending.size > 0) await Promise.allSettled([...pending]);
      wss.close();
      await closeServer(server);
    },
  };
}
