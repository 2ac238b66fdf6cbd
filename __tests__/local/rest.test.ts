/**
 * The local REST API, served from the default stack's synthesized configuration against a local
 * DynamoDB (dynalite): what a client of the deployed stage sees, end to end. Needs the Lambda
 * bundles the stack references (`node scripts/build.mjs`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingMessage, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LocalDynamo, startLocalDynamo } from '../../local/dynamodb';
import { ItemWritten, LocalRestApi, MAX_REQUEST_BODY_BYTES, startLocalRestApi } from '../../local/rest';
import { ACCOUNT_THROTTLE, RestApiConfig, restApiFromConfig } from '../../local/rest-config';
import { LocalLog, LocalService } from '../../local/types';
import { RUN_REQUEST_BODY_SCHEMA } from '../../modules/api-ingest';
import { resourceNamed, resourcesOf, synthDev } from '../helpers/synth';

/** A response's body as text. */
async function text(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const json = synthDev();
const table = resourceNamed(json, 'aws_dynamodb_table', 'gateway_table');

/** What Terraform would put in place of `${aws_dynamodb_table.<id>.name}`; anything else stays unresolved. */
function resolveTableNames(interpolation: string): string {
  return interpolation.replace(/^\$\{aws_dynamodb_table\.([A-Za-z0-9_-]+)\.name\}$/, (ref, id: string) => {
    const name = json.resource.aws_dynamodb_table?.[id]?.name;
    if (typeof name !== 'string') throw new Error(`no literal name for ${ref}`);
    return name;
  });
}

const CALLER = 'arn:aws:sts::111122223333:assumed-role/onprem-scheduler/session';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('restApiFromConfig (default stack)', () => {
  const api = restApiFromConfig(json, resolveTableNames);
  const method = (route: string) => api.methods.find((m) => `${m.httpMethod} ${m.resourcePath}` === route)!;

  it('reads the stage and the routes with their paths rebuilt from parent links', () => {
    expect(api.stageName).toBe('v1');
    expect(api.methods.map((m) => `${m.httpMethod} ${m.resourcePath}`)).toEqual(['POST /runrequests', 'GET /runrequests/{runRequestID}']);
  });

  it('reads the POST integration, its validator, its model and its responses', () => {
    const post = method('POST /runrequests');

    expect(post.authorization).toBe('AWS_IAM');
    expect(post.validator).toEqual({ name: 'body', validateRequestBody: true, validateRequestParameters: true });
    expect(post.requestModels['application/json']).toEqual({ name: 'RunRequest', schema: RUN_REQUEST_BODY_SCHEMA });
    expect(post.integration).toMatchObject({ type: 'AWS', awsAction: { service: 'dynamodb', action: 'TransactWriteItems' }, passthroughBehavior: 'NEVER', timeoutMilliseconds: 10000 });
    expect(post.integration.responses.map((r) => [r.statusCode, r.selectionPattern])).toEqual(
      expect.arrayContaining([
        [202, undefined],
        [400, '4\\d{2}'],
        [503, '5\\d{2}'],
      ]),
    );
  });

  it('reads the GET integration and its required path parameter', () => {
    const get = method('GET /runrequests/{runRequestID}');

    expect(get.requestParameters).toEqual({ 'method.request.path.runRequestID': true });
    expect(get.validator).toMatchObject({ validateRequestBody: false, validateRequestParameters: true });
    expect(get.integration.awsAction).toEqual({ service: 'dynamodb', action: 'GetItem' });
  });

  it('resolves the table reference in the templates and leaves no interpolation', () => {
    for (const m of api.methods) {
      expect(m.integration.requestTemplates['application/json']).toContain(`"TableName": "${table.name}"`);
      for (const template of [...Object.values(m.integration.requestTemplates), ...m.integration.responses.flatMap((r) => Object.values(r.responseTemplates))]) {
        expect(template).not.toContain('${');
      }
    }
  });

  it('reads the gateway responses for validation failures', () => {
    expect(api.gatewayResponses.BAD_REQUEST_BODY).toMatchObject({ statusCode: 400, responseTemplates: { 'application/json': expect.stringContaining('$context.error.validationErrorString') } });
    expect(api.gatewayResponses.BAD_REQUEST_PARAMETERS).toMatchObject({ statusCode: 400 });
  });

  it("gives each method the stage's throttle as synthesized: 50 requests/s, burst 100", () => {
    expect(Object.values(resourcesOf(json, 'aws_api_gateway_method_settings'))).toEqual([
      expect.objectContaining({ method_path: '*/*', settings: expect.objectContaining({ throttling_rate_limit: 50, throttling_burst_limit: 100 }) }),
    ]);
    expect(api.methods.map((m) => [`${m.httpMethod} ${m.resourcePath}`, m.throttle])).toEqual([
      ['POST /runrequests', { rateLimit: 50, burstLimit: 100 }],
      ['GET /runrequests/{runRequestID}', { rateLimit: 50, burstLimit: 100 }],
    ]);
  });

  it("takes a method's own override first, the stage's for what it leaves out (or sets to -1), and never more than the account's", () => {
    const config = structuredClone(json);
    const [stageSettings] = Object.values(resourcesOf(config, 'aws_api_gateway_method_settings'));
    Object.assign(stageSettings.settings, { throttling_rate_limit: 20_000, throttling_burst_limit: 200 });
    config.resource.aws_api_gateway_method_settings['get-override'] = {
      ...stageSettings,
      method_path: 'runrequests/{runRequestID}/GET',
      settings: { throttling_rate_limit: 5, throttling_burst_limit: -1 },
    };

    const throttles = restApiFromConfig(config, resolveTableNames).methods.map((m) => [`${m.httpMethod} ${m.resourcePath}`, m.throttle]);

    expect(throttles).toEqual([
      ['POST /runrequests', { rateLimit: ACCOUNT_THROTTLE.rateLimit, burstLimit: 200 }],
      ['GET /runrequests/{runRequestID}', { rateLimit: 5, burstLimit: 200 }],
    ]);
  });

  it("gives every method the account's limits when the stage sets none", () => {
    const config = structuredClone(json);
    delete config.resource.aws_api_gateway_method_settings;

    const throttles = restApiFromConfig(config, resolveTableNames).methods.map((m) => m.throttle);

    expect(throttles).toEqual([ACCOUNT_THROTTLE, ACCOUNT_THROTTLE]);
    expect(ACCOUNT_THROTTLE).toEqual({ rateLimit: 10_000, burstLimit: 5_000 });
  });

  it('refuses a method path that is neither */* nor <path>/<METHOD>', () => {
    const config = structuredClone(json);
    const [stageSettings] = Object.values(resourcesOf(config, 'aws_api_gateway_method_settings'));
    stageSettings.method_path = 'runrequests';

    expect(() => restApiFromConfig(config, resolveTableNames)).toThrow(/method_path must be \*\/\* or <resource path>\/<HTTP method> \(got 'runrequests'\)/);
  });

  it('refuses an interpolation that resolve leaves as it is', () => {
    expect(() => restApiFromConfig(json, (interpolation) => interpolation)).toThrow(/\$\{aws_dynamodb_table\.gateway_table_[A-Za-z0-9]+\.name\} was left unresolved/);
  });
});

describe('local REST API (default stack, local DynamoDB)', () => {
  let api: RestApiConfig;
  let dataDir: string;
  let dynamo: LocalDynamo;
  let rest: LocalService;
  const events: { event: string; fields?: Record<string, unknown> }[] = [];
  const log: LocalLog = (event, fields) => {
    events.push({ event, fields });
  };
  const written = jest.fn<void, [ItemWritten]>();

  const startRest = (endpoint: string, userArn = CALLER) =>
    startLocalRestApi({ api, dynamodbEndpoint: endpoint, identity: { userArn, sourceIp: '10.0.0.1' }, onItemWritten: written, log });
  const startDynamo = async () => {
    const started = await startLocalDynamo({ dataDir, log });
    await started.ensureTables([{ name: table.name, hashKey: table.hash_key }]);
    return started;
  };

  beforeAll(async () => {
    api = restApiFromConfig(json, resolveTableNames);
    dataDir = mkdtempSync(path.join(tmpdir(), 'local-rest-'));
    dynamo = await startDynamo();
    rest = await startRest(dynamo.endpoint);
  });

  afterAll(async () => {
    await rest?.close();
    await dynamo?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => written.mockClear());

  const post = (body: string, contentType = 'application/json') =>
    fetch(`${rest.url}/runrequests`, { method: 'POST', headers: { 'content-type': contentType }, body });
  /** POSTs a valid run request and returns the id it was accepted under. */
  const accepted = async (body: Record<string, unknown>): Promise<string> => {
    const response = await post(JSON.stringify(body));
    expect(response.status).toBe(202);
    return ((await response.json()) as { runRequestID: string }).runRequestID;
  };
  const getRunRequest = (id: string, base = rest.url) => fetch(`${base}/runrequests/${encodeURIComponent(id)}`);
  const storedItem = async (id: string) => {
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: table.name, Key: { runRequestID: { S: id } }, ConsistentRead: true }));
    return Item && unmarshall(Item);
  };
  const itemCount = async () => (await dynamo.client.send(new ScanCommand({ TableName: table.name, Select: 'COUNT' }))).Count;
  /** A request refused before DynamoDB: the status, its body, and that nothing was written. */
  const expectRefused = async (response: Response, countBefore: number | undefined, status: number) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await itemCount()).toBe(countBefore);
    expect(written).not.toHaveBeenCalled();
    return (await response.json()) as Record<string, unknown>;
  };

  it('serves the stage URL like the deployed one', () => {
    expect(rest.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('stores a POSTed run request as ACCEPTED with the caller, answers 202 with its id, and reports the write once', async () => {
    const response = await post(JSON.stringify({ processname: 'sample', clientname: 'erp-nightly', parameters: { message: 'hello' } }));

    expect(response.status).toBe(202);
    const body = (await response.json()) as { runRequestID: string };
    expect(body).toEqual({ runRequestID: expect.stringMatching(UUID), status: 'ACCEPTED' });
    expect(response.headers.get('x-amzn-requestid')).toBe(body.runRequestID);
    expect(await storedItem(body.runRequestID)).toEqual({
      runRequestID: body.runRequestID,
      status: 'ACCEPTED',
      processname: 'sample',
      clientname: 'erp-nightly',
      parameters: { message: 'hello' },
      callerIdentity: CALLER,
      receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      receivedAtEpochMs: expect.any(Number),
    });
    expect(written).toHaveBeenCalledTimes(1);
    expect(written).toHaveBeenCalledWith({
      tableName: table.name,
      item: expect.objectContaining({ runRequestID: { S: body.runRequestID }, status: { S: 'ACCEPTED' }, callerIdentity: { S: CALLER } }),
    });
  });

  it('accepts application/json with a charset parameter', async () => {
    const response = await post(JSON.stringify({ processname: 'sample', clientname: 'erp' }), 'application/json; charset=utf-8');

    expect(response.status).toBe(202);
  });

  it('returns a stored run request on GET, without internal fields', async () => {
    const runRequestID = await accepted({ processname: 'sample', clientname: 'erp', timestamp: '2026-11-23 02:00' });

    const response = await getRunRequest(runRequestID);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      runRequestID,
      status: 'ACCEPTED',
      processname: 'sample',
      clientname: 'erp',
      timestamp: '2026-11-23 02:00',
      receivedAt: expect.stringMatching(/Z$/),
    });
  });

  it('answers 404 for an unknown id', async () => {
    const response = await getRunRequest('00000000-0000-4000-8000-000000000000');

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'run request not found', requestId: expect.stringMatching(UUID) });
  });

  it("answers 404 to another caller asking for someone's run request", async () => {
    const runRequestID = await accepted({ processname: 'sample', clientname: 'erp' });
    const other = await startRest(dynamo.endpoint, 'arn:aws:iam::111122223333:user/someone-else');
    try {
      const response = await getRunRequest(runRequestID, other.url);

      expect(response.status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('rejects malformed JSON with 400 and a clear message, writing nothing', async () => {
    const before = await itemCount();

    const body = await expectRefused(await post('{"processname": "sample", "clientname": '), before, 400);

    expect(body).toEqual({ message: 'invalid run request', details: expect.stringMatching(/^\[Unable to parse the request body as JSON: .+\]$/), requestId: expect.stringMatching(UUID) });
  });

  it('rejects a body without a required field with 400 naming it', async () => {
    const before = await itemCount();

    const body = await expectRefused(await post(JSON.stringify({ processname: 'sample' })), before, 400);

    expect(body.message).toBe('invalid run request');
    expect(body.details).toBe('[object has missing required properties (["clientname"])]');
  });

  it('rejects an unknown field with 400 naming it', async () => {
    const before = await itemCount();

    const body = await expectRefused(await post(JSON.stringify({ processname: 'sample', clientname: 'erp', colour: 'blue' })), before, 400);

    expect(body.details).toBe('[object instance has properties which are not allowed by the schema: ["colour"]]');
  });

  it('lists every violation at once', async () => {
    const body = await expectRefused(await post(JSON.stringify({ processname: 'two words', clientname: 7 })), await itemCount(), 400);

    expect(body.details).toBe(
      '[ECMA 262 regex "^[A-Za-z0-9][A-Za-z0-9_.-]*$" does not match input string "two words", instance type (integer) does not match any allowed primitive type (allowed: ["string"])]',
    );
  });

  it('answers 413 to a body over 10 MB, writing nothing', async () => {
    const before = await itemCount();
    const huge = JSON.stringify({ processname: 'sample', clientname: 'x'.repeat(MAX_REQUEST_BODY_BYTES) });

    const body = await expectRefused(await post(huge), before, 413);

    expect(body).toEqual({ message: 'Request Too Long' });
  });

  it('answers 413 from the declared length alone: a client that asks to continue is never asked for the body', async () => {
    const before = await itemCount();
    const request = httpRequest(`${rest.url}/runrequests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': 70 * 1024 * 1024, expect: '100-continue' },
    });
    let askedToContinue = false;
    request.on('continue', () => (askedToContinue = true));

    const response = await new Promise<IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject).end());
    const body = JSON.parse(await text(response));
    request.destroy();

    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toBe('application/json');
    expect(body).toEqual({ message: 'Request Too Long' });
    expect(askedToContinue).toBe(false);
    expect(await itemCount()).toBe(before);
  });

  it('answers 413 to a body without a declared length once it passes 10 MB, before the client has sent it all', async () => {
    const before = await itemCount();
    const request = httpRequest(`${rest.url}/runrequests`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    const answered = new Promise<IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
    let response: IncomingMessage | undefined;
    void answered.then((r) => (response = r));
    const megabyte = Buffer.alloc(1024 * 1024, 'x');
    let sentMegabytes = 0;

    // A client that reads the answer while it sends stops sending once it has one.
    while (sentMegabytes < 70 && !response) {
      sentMegabytes++;
      if (!request.write(megabyte)) await Promise.race([new Promise((resolve) => request.once('drain', resolve)), answered]);
    }
    const body = JSON.parse(await text(await answered));
    request.destroy();

    expect((await answered).statusCode).toBe(413);
    expect(body).toEqual({ message: 'Request Too Long' });
    expect(sentMegabytes).toBeLessThan(70);
    expect(await itemCount()).toBe(before);
  });

  it.each([
    ['ISO-8859-1', 'Zoë', (text: string) => Buffer.from(text, 'latin1')],
    // windows-1252 is ISO-8859-1 but for 0x80-0x9F, where € is 0x80.
    ['windows-1252', 'Zoë paid 5 €', (text: string) => Buffer.from(text.replace('€', '\u0080'), 'latin1')],
    ['UTF-16LE', 'Zoë 日本', (text: string) => Buffer.from(text, 'utf16le')],
  ])('decodes a body sent as %s and stores %j as sent', async (charset, value, encode) => {
    const body = encode(JSON.stringify({ processname: 'sample', clientname: value }));

    const response = await fetch(`${rest.url}/runrequests`, { method: 'POST', headers: { 'content-type': `application/json; charset=${charset}` }, body });

    expect(response.status).toBe(202);
    const { runRequestID } = (await response.json()) as { runRequestID: string };
    expect(await storedItem(runRequestID)).toMatchObject({ clientname: value });
  });

  it('answers 415 to a charset it cannot decode, writing nothing', async () => {
    const before = await itemCount();

    const body = await expectRefused(await post(JSON.stringify({ processname: 'sample', clientname: 'Zoe' }), 'application/json; charset=x-no-such-charset'), before, 415);

    expect(body).toEqual({ message: 'Unsupported Media Type' });
  });

  it('takes a body with no Content-Type as JSON, as API Gateway does (the README says so)', async () => {
    // Bytes, not a string: fetch would add `text/plain` to a string body.
    const response = await fetch(`${rest.url}/runrequests`, { method: 'POST', body: Buffer.from(JSON.stringify({ processname: 'sample', clientname: 'no-type' })) });

    expect(response.status).toBe(202);
    const { runRequestID } = (await response.json()) as { runRequestID: string };
    expect(await storedItem(runRequestID)).toMatchObject({ clientname: 'no-type' });
  });

  it('answers 415 to another content type (passthrough NEVER), writing nothing', async () => {
    const before = await itemCount();

    const body = await expectRefused(await post('processname=sample&clientname=erp', 'application/x-www-form-urlencoded'), before, 415);

    expect(body).toEqual({ message: 'Unsupported Media Type' });
  });

  it('answers a missing required parameter with the BAD_REQUEST_PARAMETERS response', async () => {
    const withQuery: RestApiConfig = {
      ...api,
      methods: api.methods.map((m) => (m.httpMethod === 'GET' ? { ...m, requestParameters: { ...m.requestParameters, 'method.request.querystring.view': true } } : m)),
    };
    const strict = await startLocalRestApi({ api: withQuery, dynamodbEndpoint: dynamo.endpoint, identity: { userArn: CALLER }, log });
    try {
      const response = await getRunRequest('some-id', strict.url);

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ message: 'invalid run request', details: 'Missing required request parameters: [view]', requestId: expect.stringMatching(UUID) });
    } finally {
      await strict.close();
    }
  });

  it.each([
    ['an unknown path', 'GET', '/v1/jobs', { message: 'Missing Authentication Token' }],
    ['a method the resource does not have', 'DELETE', '/v1/runrequests', { message: 'Missing Authentication Token' }],
    ['a path without the stage', 'POST', '/runrequests', { message: 'Forbidden' }],
  ])('answers 403 to %s, as API Gateway does', async (_, method, urlPath, expected) => {
    const response = await fetch(new URL(urlPath, rest.url), { method });

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual(expected);
  });

  it.each([
    `it's`,
    `say "hi"`,
    `back\\slash`,
    `\\'`,
    `"}, "injected": {"S": "x`,
    `O'Brien & "Co" \\ {braces} $context.requestId #set($x = 1)`,
  ])('stores %j exactly and returns it as sent', async (value) => {
    const runRequestID = await accepted({ processname: 'sample', clientname: value, timestamp: value, parameters: { p1: value } });

    const item = await storedItem(runRequestID);
    const got = await (await getRunRequest(runRequestID)).json();

    expect(item).toMatchObject({ clientname: value, timestamp: value, parameters: { p1: value } });
    expect(Object.keys(item!).sort()).toEqual(['callerIdentity', 'clientname', 'parameters', 'processname', 'receivedAt', 'receivedAtEpochMs', 'runRequestID', 'status', 'timestamp']);
    expect(got).toMatchObject({ runRequestID, clientname: value, timestamp: value });
  });

  it('logs one access log line per request', async () => {
    events.length = 0;

    await getRunRequest('00000000-0000-4000-8000-000000000000');

    const lines = events.filter((e) => e.event === 'rest.request');
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({
      httpMethod: 'GET',
      resourcePath: '/runrequests/{runRequestID}',
      path: '/v1/runrequests/00000000-0000-4000-8000-000000000000',
      status: 404,
      integrationStatus: 200,
      userArn: CALLER,
      sourceIp: '10.0.0.1',
    });
  });

  describe("the stage's throttle (each method its own bucket, on the test's clock)", () => {
    let clock: number;
    let throttled: LocalRestApi;
    const body = JSON.stringify({ processname: 'sample', clientname: 'throttle' });
    const postTo = (server: LocalService, payload = body) => fetch(`${server.url}/runrequests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });

    beforeEach(async () => {
      clock = 0;
      throttled = await startLocalRestApi({ api, dynamodbEndpoint: dynamo.endpoint, identity: { userArn: CALLER }, now: () => clock, log });
    });
    afterEach(() => throttled.close());

    it('answers a burst past the configured burst (100) with 429 Too Many Requests, as API Gateway, and stores none of those', async () => {
      const countBefore = await itemCount();

      const responses = await Promise.all(Array.from({ length: 130 }, () => postTo(throttled)));

      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 202)).toHaveLength(100);
      const refused = responses.filter((r) => r.status === 429);
      expect(refused).toHaveLength(30);
      for (const response of refused) {
        expect(response.headers.get('content-type')).toBe('application/json');
        expect(response.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
        expect(response.headers.get('x-amzn-requestid')).toMatch(UUID);
        expect(await response.text()).toBe('{"message":"Too Many Requests"}');
      }
      expect(await itemCount()).toBe(countBefore! + 100);
      expect(throttled.throttledRequests).toBe(30);
    });

    it('throttles before validation, and each method apart: an emptied POST leaves GET its own 100', async () => {
      const invalid = await Promise.all(Array.from({ length: 110 }, () => postTo(throttled, '{"processname": 7}')));
      const gets = await Promise.all(Array.from({ length: 100 }, () => getRunRequest('00000000-0000-4000-8000-000000000000', throttled.url)));

      expect(invalid.filter((r) => r.status === 400)).toHaveLength(100);
      expect(invalid.filter((r) => r.status === 429)).toHaveLength(10);
      expect(gets.map((r) => r.status)).toEqual(Array(100).fill(404));
    });

    it('answers none of a steady 40 requests/s with 429, once the burst is spent too', async () => {
      await Promise.all(Array.from({ length: 100 }, () => postTo(throttled, '{}')));
      expect((await postTo(throttled, '{}')).status).toBe(429);

      const statuses: number[] = [];
      for (let i = 0; i < 80; i++) {
        clock += 25;
        statuses.push((await postTo(throttled)).status);
      }

      expect(statuses).toEqual(Array(80).fill(202));
    });

    it('admits the burst again at 50 a second after it was spent', async () => {
      await Promise.all(Array.from({ length: 101 }, () => postTo(throttled, '{}')));

      clock += 1_000;
      const afterASecond = await Promise.all(Array.from({ length: 60 }, () => postTo(throttled, '{}')));

      expect(afterASecond.filter((r) => r.status === 400)).toHaveLength(50);
      expect(afterASecond.filter((r) => r.status === 429)).toHaveLength(10);
    });

    it('lets every request pass with throttle: false', async () => {
      const unthrottled = await startLocalRestApi({ api, dynamodbEndpoint: dynamo.endpoint, identity: { userArn: CALLER }, throttle: false, now: () => clock, log });
      try {
        const responses = await Promise.all(Array.from({ length: 150 }, () => postTo(unthrottled, '{}')));

        expect(responses.map((r) => r.status)).toEqual(Array(150).fill(400));
        expect(unthrottled.throttledRequests).toBe(0);
      } finally {
        await unthrottled.close();
      }
    });
  });

  // Last: restarts both servers.
  it('keeps run requests across a restart of DynamoDB with the same data dir', async () => {
    const runRequestID = await accepted({ processname: 'sample', clientname: 'before-restart' });
    await rest.close();
    await dynamo.close();

    dynamo = await startDynamo();
    rest = await startRest(dynamo.endpoint);

    if (!dynamo.persistent) {
      // No LevelDB on this machine: the warning says so, and the data is gone.
      expect(events.map((e) => e.event)).toContain('dynamodb.persistence-unavailable');
      expect((await getRunRequest(runRequestID)).status).toBe(404);
      return;
    }
    const response = await getRunRequest(runRequestID);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ runRequestID, status: 'ACCEPTED', clientname: 'before-restart' });
  });
});
