/**
 * Serves a REST API read from the synthesized configuration ({@link restApiFromConfig}) the way API
 * Gateway serves the deployed stage, at the same paths (`/<stage>/<resource path>`): routing,
 * request validation against the method's model, the request mapping template, the AWS
 * integration's call to DynamoDB, the integration response chosen by selection pattern and its
 * template, and gateway responses for what API Gateway rejects itself.
 *
 * Where it differs from API Gateway (besides the renderer's own KNOWN_DIFFERENCES):
 * - No authentication: every request acts as `identity` (no SigV4 check, no API keys or usage plans,
 *   no authorizers).
 * - Throttling is the stage's and methods' (their `aws_api_gateway_method_settings`, bounded by the
 *   account's default limits), one token bucket per method, taken once the route is known and
 *   before anything is checked; a usage plan's per-key limits are not applied (no keys), nor is the
 *   account's bucket shared with other APIs. API Gateway calls its throttling best effort; this is
 *   the exact bucket.
 * - Only `AWS` integrations with a DynamoDB action URI; the server refuses to start on others.
 * - Validation messages follow API Gateway's validator (fge json-schema-validator) for the common
 *   keywords; others carry ajv's wording. `format` is not checked. `$ref` between models is not followed.
 * - Beliefs, not verified against AWS: the REQUEST_TOO_LARGE message (`Request Too Long`), the
 *   text of a JSON syntax error, `validationErrorString` for missing parameters (the message
 *   itself), URL-decoded path parameters, the `x-amzn-ErrorType` values, and decoding a body from
 *   its Content-Type's charset (AWS documents only that the integration gets a UTF-8 string, and
 *   that the charset plays no part in choosing the mapping template), with 415 for a charset this
 *   server cannot decode.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { ApiGatewayContext, formatRequestTime, javaMatches, RequestParams, renderMappingTemplate } from './apigw-vtl';
import { IntegrationResponseConfig, RestApiConfig, RestMethodConfig } from './rest-config';
import { closeServer, listenLocally } from './listen';
import { TokenBucket } from './token-bucket';
import { LocalLog, LocalService } from './types';
import { LocalTransactions } from './dynamodb-transactions';
import { LOCAL_REGION } from './config';
import { LocalIdentity, verifySigV4 } from './sigv4';

/** Who the local API says every caller is (`$context.identity`). */
export interface LocalCallerIdentity {
  /** `$context.identity.userArn`, e.g. an assumed-role ARN. */
  readonly userArn: string;
  /** @default - not set */
  readonly caller?: string;
  /** @default - the client socket's address */
  readonly sourceIp?: string;
}

/** An item a PutItem (or a TransactWriteItems' Put) integration stored: what DynamoDB Streams would carry as NewImage. */
export interface ItemWritten {
  readonly tableName: string;
  readonly item: Record<string, AttributeValue>;
}

export interface LocalRestApiOptions {
  /** @default - a free port */
  readonly port?: number;
  readonly api: RestApiConfig;
  /** Endpoint of the DynamoDB that integrations call (the local one). */
  readonly dynamodbEndpoint: string;
  /** Who an unsigned request acts as (unless `requireSignature`). */
  readonly identity: LocalCallerIdentity;
  /**
   * Callers whose SigV4 signatures (service `execute-api`, `region`) an `AWS_IAM` method verifies:
   * a request signed by one acts as its ARN; a bad or unknown signature is refused with 403.
   * @default - none: every signed request is refused as of an unknown key
   */
  readonly identities?: readonly LocalIdentity[];
  /** Refuse unsigned requests to `AWS_IAM` methods (403 Missing Authentication Token). @default false */
  readonly requireSignature?: boolean;
  /** The region signatures must be scoped to. @default LOCAL_REGION */
  readonly region?: string;
  /**
   * Called once per successful PutItem, before the response is sent. Errors it throws are logged
   * and do not change the response.
   * @default - nothing
   */
  readonly onItemWritten?: (write: ItemWritten) => void;
  /**
   * Throttle each method as the deployed stage does (`RestMethodConfig.throttle`): a request that
   * finds no token is answered 429. False for a load test that wants local mode's own limit.
   * @default true
   */
  readonly throttle?: boolean;
  /** The throttle's clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
  readonly log: LocalLog;
}

/** The local stage: its own server, and its request handler for a server of the caller's. */
export interface LocalRestApi extends LocalService {
  /**
   * Serves one request as the stage does, on any server: give it the server's `request` and
   * `checkContinue` events (it answers an `Expect: 100-continue` itself).
   */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests answered 429 by the throttle since the start. */
  readonly throttledRequests: number;
}

/** The API cannot be served locally. */
export class LocalRestApiError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalRestApiError';
  }
}

/** API Gateway's payload limit for REST APIs. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
/**
 * A client still sending a refused body is read to the end (and what it sends discarded) before its
 * connection closes: closing it under a sending client resets it, and the reset can reach the client
 * before the 413 does. One that sends nothing for the first time, or still sends after the second, is cut off.
 */
const REFUSED_BODY_LIMITS_MS = { idle: 5_000, total: 30_000 } as const;

/** DynamoDB's JSON protocol target prefix (`X-Amz-Target: DynamoDB_20120810.PutItem`). */
const AWS_JSON_TARGETS: Readonly<Record<string, string>> = { dynamodb: 'DynamoDB_20120810' };
/** What the integration signs with: dynalite checks that a SigV4 header is there, not who signed it. */
const SIGNING = { accessKeyId: 'LOCAL', secretAccessKey: 'local-secret', region: 'us-east-1' };

/** Gateway response types this server produces, with API Gateway's default status and message. */
const GATEWAY_ERRORS = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token', errorType: 'MissingAuthenticationTokenException' },
  BAD_REQUEST_BODY: { status: 400, message: 'Invalid request body', errorType: 'BadRequestException' },
  BAD_REQUEST_PARAMETERS: { status: 400, message: 'Missing required request parameters', errorType: 'BadRequestException' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type', errorType: 'UnsupportedMediaTypeException' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long', errorType: 'RequestTooLargeException' },
  THROTTLED: { status: 429, message: 'Too Many Requests', errorType: 'TooManyRequestsException' },
  INVALID_SIGNATURE: { status: 403, message: 'Invalid signature', errorType: 'InvalidSignatureException' },
  EXPIRED_TOKEN: { status: 403, message: 'Signature expired', errorType: 'InvalidSignatureException' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out', errorType: 'InternalServerErrorException' },
  INTEGRATION_FAILURE: { status: 504, message: 'Internal server error', errorType: 'InternalServerErrorException' },
  API_CONFIGURATION_ERROR: { status: 500, message: 'Internal server error', errorType: 'InternalServerErrorException' },
} as const;
type GatewayErrorType = keyof typeof GATEWAY_ERRORS;

export async function startLocalRestApi(options: LocalRestApiOptions): Promise<LocalRestApi> {
  const { api, log } = options;
  const routes = compileRoutes(api, options.throttle ?? true, options.now);
  const counters = { throttled: 0 };
  // dynalite implements no transactions: the POST's TransactWriteItems runs here (local/dynamodb-transactions.ts).
  const transactions = new LocalTransactions((action, body) => callAwsJson(options.dynamodbEndpoint, `${AWS_JSON_TARGETS.dynamodb}.${action}`, JSON.stringify(body), 10_000));
  const handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, api, routes, counters, options, transactions).catch((error: Error) => {
      log('rest.internal-error', { level: 'error', error: error.message });
      if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, '{"message": "Internal server error"}');
      else res.destroy();
    });
  };
  const server = createServer(handleRequest);
  server.on('checkContinue', handleRequest);
  const url = `${await listenLocally(server, options.port)}/${api.stageName}`;
  log('rest.started', { url, routes: api.methods.map((m) => `${m.httpMethod} ${m.resourcePath}`) });

  let closing: Promise<void> | undefined;
  return {
    url,
    handleRequest,
    get throttledRequests() {
      return counters.throttled;
    },
    close() {
      closing ??= closeServer(server, 'idle').then(() => log('rest.stopped', { url }));
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param' | 'greedy'; readonly name: string };

interface Resource {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly methods: ReadonlyMap<string, Route>;
}

interface Route {
  readonly method: RestMethodConfig;
  /** Compiled models by content type. */
  readonly validators: ReadonlyMap<string, ValidateFunction>;
  /** The method's throttle; none when throttling is off. */
  readonly bucket?: TokenBucket;
}

function compileRoutes(api: RestApiConfig, throttle: boolean, now?: () => number): Resource[] {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, validateFormats: false });
  const resources = new Map<string, Map<string, Route>>();
  for (const method of api.methods) {
    const integration = method.integration;
    const where = `${method.httpMethod} ${method.resourcePath}`;
    if (integration.type !== 'AWS' || !integration.awsAction || !(integration.awsAction.service in AWS_JSON_TARGETS)) {
      throw new LocalRestApiError(`${where}: only AWS integrations with a DynamoDB action are served locally (got ${integration.type} ${integration.uri ?? ''})`);
    }
    for (const response of integration.responses) {
      if (response.selectionPattern === undefined) continue;
      try {
        javaMatches('200', response.selectionPattern);
      } catch (error) {
        throw new LocalRestApiError(`${where}: selection pattern ${JSON.stringify(response.selectionPattern)}: ${(error as Error).message}`, { cause: error });
      }
    }
    const validators = new Map<string, ValidateFunction>();
    for (const [contentType, model] of Object.entries(method.requestModels)) {
      try {
        validators.set(contentType, ajv.compile(draft4ForAjv(model.schema) as object));
      } catch (error) {
        throw new LocalRestApiError(`${where}: model ${model.name} does not compile: ${(error as Error).message}`, { cause: error });
      }
    }
    const methods = resources.get(method.resourcePath) ?? new Map<string, Route>();
    const bucket = throttle ? new TokenBucket({ ratePerSecond: method.throttle.rateLimit, capacity: method.throttle.burstLimit, now }) : undefined;
    methods.set(method.httpMethod, { method, validators, bucket });
    resources.set(method.resourcePath, methods);
  }
  return [...resources].map(([path, methods]) => ({ path, segments: parseResourcePath(path), methods }));
}

function parseResourcePath(path: string): Segment[] {
  return path
    .split('/')
    .filter(Boolean)
    .map((part): Segment => {
      const param = /^\{([^{}+]+)(\+?)\}$/.exec(part);
      if (!param) return { kind: 'literal', text: part };
      return { kind: param[2] ? 'greedy' : 'param', name: param[1] };
    });
}

/** The most specific resource matching the path (a literal beats a parameter beats a greedy one), with its parameters. */
function matchResource(resources: readonly Resource[], segments: readonly string[]): { resource: Resource; params: Record<string, string> } | undefined {
  let best: { resource: Resource; params: Record<string, string>; rank: number[] } | undefined;
  for (const resource of resources) {
    const params: Record<string, string> = {};
    const rank: number[] = [];
    let matched = true;
    for (let i = 0; i < resource.segments.length && matched; i++) {
      const segment = resource.segments[i];
      if (i >= segments.length) matched = false;
      else if (segment.kind === 'literal') {
        matched = segment.text === segments[i];
        rank.push(2);
      } else if (segment.kind === 'param') {
        params[segment.name] = decodePathSegment(segments[i]);
        rank.push(1);
      } else {
        params[segment.name] = segments.slice(i).map(decodePathSegment).join('/');
        rank.push(0);
        break;
      }
    }
    const greedy = resource.segments.some((s) => s.kind === 'greedy');
    if (!matched || (!greedy && resource.segments.length !== segments.length)) continue;
    if (!best || compareRanks(rank, best.rank) > 0) best = { resource, params, rank };
  }
  return best && { resource: best.resource, params: best.params };
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------------------------
// One request
// ---------------------------------------------------------------------------------------------

/** What one request carries through the pipeline, for templates and the access log. */
interface Exchange {
  readonly requestId: string;
  readonly startedAt: number;
  readonly httpMethod: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly context: Partial<ApiGatewayContext>;
  params: RequestParams;
  resourcePath?: string;
  integrationStatus?: number;
  integrationLatency?: number;
  error?: string;
  validationError?: string;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  api: RestApiConfig,
  resources: readonly Resource[],
  counters: { throttled: number },
  options: LocalRestApiOptions,
  transactions: LocalTransactions,
): Promise<void> {
  const startedAt = Date.now();
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = requestHeaders(req);
  const httpMethod = (req.method ?? 'GET').toUpperCase();
  const identity = options.identity;
  const context: Partial<ApiGatewayContext> = {
    requestId,
    extendedRequestId: requestId,
    requestTime: formatRequestTime(startedAt),
    requestTimeEpoch: startedAt,
    httpMethod,
    path: url.pathname,
    stage: api.stageName,
    protocol: `HTTP/${req.httpVersion}`,
    domainName: headers.host ?? '127.0.0.1',
    identity: withoutUndefined({
      userArn: identity.userArn,
      caller: identity.caller,
      accountId: identity.userArn.split(':')[4] || undefined,
      sourceIp: identity.sourceIp ?? (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: headers['user-agent'],
    }),
  };
  const exchange: Exchange = { requestId, startedAt, httpMethod, path: url.pathname, headers, context, params: { header: headers } };
  /** Settles once the client has stopped sending a refused body: the answer ends only then. */
  let refusedBodySent: Promise<void> | undefined;
  const reply = (status: number, responseHeaders: Record<string, string>, body: string): void => {
    send(res, status, { ...responseHeaders, 'x-amzn-requestid': requestId }, body, refusedBodySent);
    options.log('rest.request', accessLogFields(exchange, status, Buffer.byteLength(body)));
  };
  const fail = (type: GatewayErrorType, detail: { message?: string; validationErrorString?: string; error?: string } = {}): void =>
    replyWithGatewayResponse(api, exchange, type, detail, reply);

  const body = await readBody(req, res);
  if (!Buffer.isBuffer(body)) {
    refusedBodySent = body.sent;
    return fail('REQUEST_TOO_LARGE');
  }

  // The stage is the first segment; API Gateway answers an unknown stage with a plain 403.
  const [, stage, ...segments] = url.pathname.split('/');
  if (stage !== api.stageName) {
    exchange.error = 'Forbidden';
    return reply(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'ForbiddenException' }, '{"message":"Forbidden"}');
  }
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  const match = matchResource(resources, segments);
  const route = match && (match.resource.methods.get(httpMethod) ?? match.resource.methods.get('ANY'));
  if (!match || !route) return fail('MISSING_AUTHENTICATION_TOKEN');
  const method = route.method;
  exchange.resourcePath = method.resourcePath;
  Object.assign(context, { resourcePath: method.resourcePath });
  if (method.authorization === 'AWS_IAM') {
    const verification = verifySigV4(
      { method: httpMethod, rawPath: (req.url ?? '/').split('?')[0], rawQuery: (req.url ?? '').split('?').slice(1).join('?'), headers, body },
      { identities: options.identities ?? [], region: options.region ?? LOCAL_REGION, service: 'execute-api' },
    );
    // An unknown key has no gateway response type of its own: API Gateway answers it as a bad signature.
    if (verification.outcome === 'refused') return fail(verification.reason === 'UNRECOGNIZED_CLIENT' ? 'INVALID_SIGNATURE' : verification.reason, { message: verification.message });
    if (verification.outcome === 'unsigned' && options.requireSignature) return fail('MISSING_AUTHENTICATION_TOKEN');
    if (verification.outcome === 'verified') {
      const arn = verification.identity.arn;
      Object.assign(context, { identity: withoutUndefined({ ...context.identity, userArn: arn, caller: arn, accountId: arn.split(':')[4], accessKey: verification.identity.accessKeyId }) });
    }
  }
  // The method's limits are known once its route is: throttled before any check, as the stage does.
  if (route.bucket && !route.bucket.take()) {
    counters.throttled += 1;
    return fail('THROTTLED');
  }
  const query = Object.fromEntries(url.searchParams);
  exchange.params = { path: match.params, querystring: query, header: headers };

  const text = decodeBody(body, headers['content-type']);
  if (text === undefined) return fail('UNSUPPORTED_MEDIA_TYPE', { error: `cannot decode the charset of Content-Type: ${headers['content-type']}` });
  const contentType = mediaType(headers['content-type']);

  if (method.validator?.validateRequestParameters) {
    const missing = missingParameters(method, match.params, query, headers);
    if (missing.length > 0) {
      const message = `Missing required request parameters: [${missing.join(', ')}]`;
      return fail('BAD_REQUEST_PARAMETERS', { message, validationErrorString: message });
    }
  }
  if (method.validator?.validateRequestBody) {
    // As API Gateway: the model for the request's content type, or `$default`; none, no validation.
    const validate = route.validators.get(contentType) ?? route.validators.get('$default');
    if (validate) {
      const problems = validateBody(validate, text);
      if (problems) return fail('BAD_REQUEST_BODY', { validationErrorString: `[${problems.join(', ')}]` });
    }
  }

  const integration = method.integration;
  let integrationBody: string;
  const template = integration.requestTemplates[contentType] ?? findByMediaType(integration.requestTemplates, contentType);
  if (template !== undefined) {
    try {
      integrationBody = renderMappingTemplate(template, { body: text, context, params: exchange.params }).output;
    } catch (error) {
      return fail('API_CONFIGURATION_ERROR', { error: `Execution failed due to configuration error: Unable to transform request: ${(error as Error).message}` });
    }
  } else {
    const passthrough =
      integration.passthroughBehavior === 'WHEN_NO_MATCH' ||
      (integration.passthroughBehavior === 'WHEN_NO_TEMPLATES' && Object.keys(integration.requestTemplates).length === 0);
    if (!passthrough) return fail('UNSUPPORTED_MEDIA_TYPE');
    integrationBody = text;
  }

  const { service, action } = integration.awsAction!;
  const integrationStarted = Date.now();
  let result: { status: number; body: string; headers: Headers };
  let puts: ItemWritten[] = [];
  try {
    if (service === 'dynamodb' && action === 'TransactWriteItems') {
      const transaction = await transactions.transactWrite(integrationBody);
      result = { status: transaction.status, body: transaction.body, headers: new Headers({ 'content-type': 'application/x-amz-json-1.0' }) };
      puts = transaction.puts;
    } else {
      result = await callAwsJson(options.dynamodbEndpoint, `${AWS_JSON_TARGETS[service]}.${action}`, integrationBody, integration.timeoutMilliseconds);
    }
  } catch (error) {
    exchange.integrationLatency = Date.now() - integrationStarted;
    const timedOut = (error as Error).name === 'TimeoutError';
    return fail(timedOut ? 'INTEGRATION_TIMEOUT' : 'INTEGRATION_FAILURE', { error: `${service} ${action}: ${(error as Error).message}` });
  }
  exchange.integrationLatency = Date.now() - integrationStarted;
  exchange.integrationStatus = result.status;

  const response = selectIntegrationResponse(integration.responses, result.status);
  if (!response) {
    return fail('API_CONFIGURATION_ERROR', { error: `Execution failed due to configuration error: No match for output mapping and no default output mapping configured (integration status ${result.status})` });
  }
  const [responseType, responseTemplate] = chooseResponseTemplate(response.responseTemplates, headers.accept);
  let status = response.statusCode;
  const responseHeaders: Record<string, string> = { 'content-type': responseType };
  let responseBody = result.body;
  if (responseTemplate !== undefined) {
    try {
      const rendered = renderMappingTemplate(responseTemplate, { body: result.body, context, params: exchange.params });
      responseBody = rendered.output;
      status = rendered.statusOverride ?? status;
      for (const [name, value] of Object.entries(rendered.headerOverrides)) responseHeaders[name.toLowerCase()] = value;
    } catch (error) {
      return fail('API_CONFIGURATION_ERROR', { error: `Execution failed due to configuration error: Unable to transform response: ${(error as Error).message}` });
    }
  }
  Object.assign(responseHeaders, mapResponseParameters(response, result.headers));

  if (action === 'PutItem' && result.status === 200) notifyItemWritten(integrationBody, options);
  for (const put of puts) notifyPut(put, options);
  reply(status, responseHeaders, responseBody);
}

/** A body over API Gateway's limit: `sent` settles once the client has stopped sending it. */
interface RefusedBody {
  readonly sent: Promise<void>;
}

/**
 * The body, or a refused one as soon as it is known to exceed API Gateway's limit: at once when its
 * declared length does (a client that asked to continue is not asked to send it), else when the
 * bytes read pass the limit. Nothing past the limit is kept.
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | RefusedBody> {
  const asksToContinue = /^100-continue$/i.test(req.headers.expect ?? '');
  if (Number(req.headers['content-length']) > MAX_REQUEST_BODY_BYTES) {
    // Told no before it was asked for the body, the client sends none.
    return Promise.resolve({ sent: asksToContinue ? Promise.resolve() : discardRestOfBody(req) });
  }
  if (asksToContinue) res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total <= MAX_REQUEST_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd).off('error', reject);
      resolve({ sent: discardRestOfBody(req) });
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/**
 * Reads the rest of a refused body and drops it; settles when the client has sent it all, has gone,
 * or is cut off (REFUSED_BODY_LIMITS_MS).
 */
function discardRestOfBody(req: IncomingMessage): Promise<void> {
  if (req.complete) return Promise.resolve();
  return new Promise((resolve) => {
    const cutOff = () => {
      req.socket.destroy();
      done();
    };
    // Unref'd: a client sending slowly holds no process open.
    const total = setTimeout(cutOff, REFUSED_BODY_LIMITS_MS.total).unref();
    const idle = setTimeout(cutOff, REFUSED_BODY_LIMITS_MS.idle).unref();
    const onData = () => idle.refresh();
    const done = () => {
      clearTimeout(total);
      clearTimeout(idle);
      req.off('data', onData);
      resolve();
    };
    req.on('data', onData).once('end', done).once('close', done).once('error', done);
    req.resume();
  });
}

/** ISO-8859-1 by its registered names, byte for code point (WHATWG's TextDecoder reads these labels as windows-1252). */
const LATIN1_CHARSETS = new Set(['iso-8859-1', 'iso8859-1', 'iso_8859-1', 'latin1', 'l1', 'cp819', 'ibm819', 'iso-ir-100', 'csisolatin1']);

/**
 * The body as text, decoded from the charset its Content-Type declares (UTF-8 when none): the
 * UTF-8 string API Gateway hands a non-proxy integration. Undefined for a charset that cannot be decoded.
 */
function decodeBody(body: Buffer, contentType: string | undefined): string | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (body.length === 0 || charset === undefined) return body.toString('utf8');
  if (LATIN1_CHARSETS.has(charset)) return body.toString('latin1');
  try {
    // A byte order mark stays, as it does in a body without a charset.
    return new TextDecoder(charset, { ignoreBOM: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** Header names as the client sent them (the last value of a repeated header). */
function requestHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i].toLowerCase()] = req.rawHeaders[i + 1];
  return headers;
}

/** The media type without parameters, lower case; API Gateway assumes JSON when there is none. */
function mediaType(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === '' ? 'application/json' : type;
}

function findByMediaType<T>(byType: Readonly<Record<string, T>>, type: string): T | undefined {
  const key = Object.keys(byType).find((k) => k.toLowerCase() === type);
  return key === undefined ? undefined : byType[key];
}

function missingParameters(method: RestMethodConfig, path: Record<string, string>, query: Record<string, string>, headers: Record<string, string>): string[] {
  const missing: string[] = [];
  for (const [name, required] of Object.entries(method.requestParameters)) {
    if (!required) continue;
    const [, where, param] = /^method\.request\.(path|querystring|header|multivaluequerystring|multivalueheader)\.(.+)$/.exec(name) ?? [];
    if (!where) continue;
    const value = where === 'path' ? path[param] : where.endsWith('querystring') ? query[param] : headers[param.toLowerCase()];
    if (value === undefined || value.trim() === '') missing.push(param);
  }
  return missing;
}

/** The violations of the model, worded as API Gateway's validator words them; undefined when valid. */
function validateBody(validate: ValidateFunction, text: string): string[] | undefined {
  let data: unknown;
  try {
    // An empty body reads as an empty object, as it does for mapping templates.
    data = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    return [`Unable to parse the request body as JSON: ${(error as Error).message}`];
  }
  if (validate(data)) return undefined;
  return validationMessages(validate.errors ?? []);
}

/** ajv errors in the words of fge json-schema-validator (what API Gateway validates with), grouped like it groups them. */
function validationMessages(errors: readonly ErrorObject[]): string[] {
  const messages: string[] = [];
  const grouped = new Map<string, { index: number; names: string[] }>();
  const group = (key: string, name: string): void => {
    const existing = grouped.get(key);
    if (existing) existing.names.push(name);
    else {
      grouped.set(key, { index: messages.length, names: [name] });
      messages.push(key);
    }
  };
  for (const error of errors) {
    const p = error.params as Record<string, unknown>;
    const data: unknown = error.data;
    switch (error.keyword) {
      case 'required':
        group(`required ${error.instancePath}`, String(p.missingProperty));
        break;
      case 'additionalProperties':
        group(`additional ${error.instancePath}`, String(p.additionalProperty));
        break;
      case 'type':
        messages.push(`instance type (${jsonType(data)}) does not match any allowed primitive type (allowed: ${q([p.type].flat())})`);
        break;
      case 'pattern':
        messages.push(`ECMA 262 regex ${q(p.pattern)} does not match input string ${q(data)}`);
        break;
      case 'minLength':
        messages.push(`string ${q(data)} is too short (length: ${[...String(data)].length}, required minimum: ${p.limit})`);
        break;
      case 'maxLength':
        messages.push(`string ${q(data)} is too long (length: ${[...String(data)].length}, maximum allowed: ${p.limit})`);
        break;
      case 'minProperties':
        messages.push(`object has too few properties (found ${Object.keys(data as object).length}, required minimum: ${p.limit})`);
        break;
      case 'maxProperties':
        messages.push(`object has too many properties (found ${Object.keys(data as object).length}, maximum allowed: ${p.limit})`);
        break;
      case 'minItems':
        messages.push(`array is too short: must have at least ${p.limit} elements but instance has ${(data as unknown[]).length} elements`);
        break;
      case 'maxItems':
        messages.push(`array is too long: must have at most ${p.limit} elements but instance has ${(data as unknown[]).length} elements`);
        break;
      case 'enum':
        messages.push(`instance value (${q(data)}) not found in enum (possible values: ${q(p.allowedValues)})`);
        break;
      case 'minimum':
      case 'exclusiveMinimum':
        messages.push(`numeric instance is lower than the required minimum (minimum: ${p.limit}, found: ${data})`);
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        messages.push(`numeric instance is greater than the required maximum (maximum: ${p.limit}, found: ${data})`);
        break;
      default:
        messages.push(`${error.instancePath || 'instance'} ${error.message ?? `fails ${error.keyword}`}`);
    }
  }
  for (const [key, { index, names }] of grouped) {
    const sorted = q([...new Set(names)].sort());
    messages[index] = key.startsWith('required ') ? `object has missing required properties (${sorted})` : `object instance has properties which are not allowed by the schema: ${sorted}`;
  }
  return messages;

  function q(v: unknown): string {
    return JSON.stringify(v);
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Draft 4 keywords ajv reads differently: boolean exclusiveMinimum/Maximum, and `$schema`/`id`. */
function draft4ForAjv(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(draft4ForAjv);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  const source = schema as Record<string, unknown>;
  for (const [key, value] of Object.entries(source)) {
    if (key === '$schema' || (key === 'id' && typeof value === 'string')) continue;
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'boolean') continue;
    out[key] = draft4ForAjv(value);
  }
  if (source.exclusiveMinimum === true && typeof source.minimum === 'number') {
    out.exclusiveMinimum = source.minimum;
    delete out.minimum;
  }
  if (source.exclusiveMaximum === true && typeof source.maximum === 'number') {
    out.exclusiveMaximum = source.maximum;
    delete out.maximum;
  }
  return out;
}

/** A pattern matching the integration's status (Java regex, whole string), else the default response. */
function selectIntegrationResponse(responses: readonly IntegrationResponseConfig[], status: number): IntegrationResponseConfig | undefined {
  const text = String(status);
  return responses.find((r) => r.selectionPattern !== undefined && javaMatches(text, r.selectionPattern)) ?? responses.find((r) => r.selectionPattern === undefined);
}

/** The template for a media type the client accepts, else the JSON one, else the first; none: the body passes through. */
function chooseResponseTemplate(templates: Readonly<Record<string, string>>, accept: string | undefined): [contentType: string, template: string | undefined] {
  const types = Object.keys(templates);
  if (types.length === 0) return ['application/json', undefined];
  const accepted = (accept ?? '').split(',').map((t) => mediaType(t));
  const chosen = accepted.map((a) => types.find((t) => t.toLowerCase() === a)).find((t) => t !== undefined) ?? types.find((t) => t.toLowerCase() === 'application/json') ?? types[0];
  return [chosen, templates[chosen]];
}

/** `method.response.header.X` from a `'literal'` or an `integration.response.header.Y`. */
function mapResponseParameters(response: IntegrationResponseConfig, integrationHeaders: Headers): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [target, source] of Object.entries(response.responseParameters)) {
    const name = /^method\.response\.header\.(.+)$/.exec(target)?.[1];
    if (!name) continue;
    const literal = /^'(.*)'$/s.exec(source);
    const fromIntegration = /^integration\.response\.header\.(.+)$/.exec(source);
    const value = literal ? literal[1] : fromIntegration ? integrationHeaders.get(fromIntegration[1]) : null;
    if (value !== null && value !== undefined) headers[name.toLowerCase()] = value;
  }
  return headers;
}

/** A gateway response: the API's own for the type, else its DEFAULT_4XX/5XX, else API Gateway's. */
function replyWithGatewayResponse(
  api: RestApiConfig,
  exchange: Exchange,
  type: GatewayErrorType,
  detail: { message?: string; validationErrorString?: string; error?: string },
  reply: (status: number, headers: Record<string, string>, body: string) => void,
): void {
  const builtIn = GATEWAY_ERRORS[type];
  const message = detail.message ?? builtIn.message;
  exchange.error = detail.error ?? message;
  exchange.validationError = detail.validationErrorString;
  const own = api.gatewayResponses[type];
  const fallback = api.gatewayResponses[builtIn.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
  const status = own?.statusCode ?? builtIn.status;
  const templates = own?.responseTemplates ?? fallback?.responseTemplates ?? {};
  const [contentType, template] = chooseResponseTemplate(templates, exchange.headers.accept);
  const variables = {
    ...exchange.context,
    resourcePath: exchange.resourcePath ?? '',
    error: {
      message,
      messageString: JSON.stringify(message),
      responseType: type,
      // A quoted JSON string, like messageString: templates put it in unquoted.
      validationErrorString: detail.validationErrorString === undefined ? '' : JSON.stringify(detail.validationErrorString),
    },
  };
  const body = substituteGatewayVariables(template ?? '{"message":$context.error.messageString}', variables);
  const headers: Record<string, string> = { 'content-type': contentType, 'x-amzn-errortype': builtIn.errorType };
  for (const [target, source] of Object.entries((own ?? fallback)?.responseParameters ?? {})) {
    const name = /^gatewayresponse\.header\.(.+)$/.exec(target)?.[1];
    const value = /^'(.*)'$/s.exec(source)?.[1] ?? requestParameter(source, exchange.params);
    if (name && value !== undefined) headers[name.toLowerCase()] = value;
  }
  reply(status, headers, body);
}

function requestParameter(source: string, params: RequestParams): string | undefined {
  const [, where, name] = /^method\.request\.(path|querystring|header)\.(.+)$/.exec(source) ?? [];
  if (!where) return undefined;
  return where === 'header' ? params.header?.[name.toLowerCase()] : where === 'path' ? params.path?.[name] : params.querystring?.[name];
}

/**
 * Gateway response templates are not Velocity: API Gateway only substitutes `$context...` and
 * `$stageVariables...` references (missing ones render empty).
 */
function substituteGatewayVariables(template: string, context: Record<string, unknown>): string {
  const lookup = (root: string, path: string): string => {
    if (root !== 'context') return '';
    let value: unknown = context;
    for (const key of path.slice(1).split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return value === undefined || value === null || typeof value === 'object' ? '' : String(value);
  };
  return template.replace(
    /\$!?\{(context|stageVariables)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}|\$!?(context|stageVariables)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g,
    (_, braceRoot: string | undefined, bracePath: string | undefined, root: string | undefined, path: string | undefined) =>
      braceRoot ? lookup(braceRoot, bracePath!) : lookup(root!, path!),
  );
}

// ---------------------------------------------------------------------------------------------
// The AWS integration's call
// ---------------------------------------------------------------------------------------------

/** POSTs an AWS JSON-protocol request, signed with SigV4, as API Gateway's AWS integration does. */
async function callAwsJson(endpoint: string, target: string, body: string, timeoutMs: number): Promise<{ status: number; body: string; headers: Headers }> {
  const url = new URL('/', endpoint);
  const headers = signedHeaders(url.host, target, body, new Date());
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** SigV4 headers for `POST /` (node:crypto; the SDK's signer is not a dependency of this project). */
function signedHeaders(host: string, target: string, body: string, now: Date): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    host,
    'x-amz-date': amzDate,
    'x-amz-target': target,
  };
  const names = Object.keys(headers).sort();
  const sha256 = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
  const canonicalRequest = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), sha256(body)].join('\n');
  const scope = `${day}/${SIGNING.region}/dynamodb/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${SIGNING.secretAccessKey}`, day), SIGNING.region), 'dynamodb'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  // fetch sets Host itself, to the same value.
  return {
    'content-type': headers['content-type'],
    'x-amz-date': amzDate,
    'x-amz-target': target,
    authorization: `AWS4-HMAC-SHA256 Credential=${SIGNING.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

function notifyItemWritten(renderedRequest: string, options: LocalRestApiOptions): void {
  try {
    const request = JSON.parse(renderedRequest) as { TableName: string; Item: Record<string, AttributeValue> };
    notifyPut({ tableName: request.TableName, item: request.Item }, options);
  } catch (error) {
    options.log('rest.on-item-written-failed', { level: 'error', error: (error as Error).message });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Writes the response. After a refused body it goes out at once, whole, with `Connection: close`, but
 * ends (and Node closes the connection) only once `refusedBodySent` settles: see discardRestOfBody.
 */
function notifyPut(put: ItemWritten, options: LocalRestApiOptions): void {
  if (!options.onItemWritten) return;
  try {
    options.onItemWritten(put);
  } catch (error) {
    options.log('rest.on-item-written-failed', { level: 'error', error: (error as Error).message });
  }
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string, refusedBodySent?: Promise<void>): void {
  if (refusedBodySent === undefined) {
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.write(body);
  void refusedBodySent.then(() => {
    if (!res.destroyed) res.end();
  });
}

/** The fields of the stage's access log format, one line per request. */
function accessLogFields(exchange: Exchange, status: number, responseLength: number): Record<string, unknown> {
  const identity = exchange.context.identity ?? {};
  return withoutUndefined({
    requestId: exchange.requestId,
    requestTime: exchange.context.requestTime,
    httpMethod: exchange.httpMethod,
    path: exchange.path,
    resourcePath: exchange.resourcePath,
    status,
    responseLength,
    integrationStatus: exchange.integrationStatus,
    integrationLatency: exchange.integrationLatency,
    latencyMs: Date.now() - exchange.startedAt,
    sourceIp: identity.sourceIp,
    userArn: identity.userArn,
    error: exchange.error,
    validationError: exchange.validationError,
  });
}

function withoutUndefined<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}
