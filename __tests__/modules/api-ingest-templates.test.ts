/**
 * The REST API's mapping templates, taken from the synthesized configuration and rendered by a
 * Velocity engine with API Gateway's `$input`, `$util` and `$context` (helpers/apigw-vtl.ts).
 */
import { ApiIngest, RunRequestsTable } from '../../modules/api-ingest';
import { renderMappingTemplate, RenderInput } from '../helpers/apigw-vtl';
import { Json, resourceNamed, resourcesOf, synthStack } from '../helpers/synth';

const json = synthStack((stack) => new ApiIngest(stack, 'ingest', { table: new RunRequestsTable(stack, 'runs', { tableName: 'run-requests' }) }));

/** What Terraform does to a template string before API Gateway sees it: resolve `${...}`. */
function resolveTerraform(template: string): string {
  return template.replace(/\$\{aws_dynamodb_table\.[A-Za-z0-9_-]+\.name\}/g, 'run-requests');
}
const rawPutTemplate: string = resourceNamed(json, 'aws_api_gateway_integration', 'post-integration').request_templates['application/json'];
const rawGetTemplate: string = resourceNamed(json, 'aws_api_gateway_integration', 'get-integration').request_templates['application/json'];
const putTemplate = resolveTerraform(rawPutTemplate);
const getTemplate = resolveTerraform(rawGetTemplate);
const responseTemplate = (method: string, status: string): string =>
  Object.entries(resourcesOf(json, 'aws_api_gateway_integration_response')).find(([id]) => id.startsWith(`ingest_${method}-${status}-`))![1].response_templates['application/json'];

const CALLER = 'arn:aws:sts::111122223333:assumed-role/onprem-scheduler/session';
const REQUEST_TIME_EPOCH = Date.UTC(2026, 10, 23, 8, 7, 1, 250); // 23 Nov 2026 08:07:01.250 UTC

function context(extra: Partial<NonNullable<RenderInput['context']>> = {}): RenderInput['context'] {
  return {
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    requestTime: '23/Nov/2026:08:07:01 +0000',
    requestTimeEpoch: REQUEST_TIME_EPOCH,
    identity: { userArn: CALLER, sourceIp: '10.0.0.1' },
    ...extra,
  };
}

/** Renders the POST's TransactWriteItems request for a body (and headers) as DynamoDB would receive it. */
function transaction(body: unknown, ctx = context(), header: Record<string, string> = {}): Json {
  const { output } = renderMappingTemplate(putTemplate, { body: typeof body === 'string' ? body : JSON.stringify(body), context: ctx, params: { header } });
  return JSON.parse(output) as Json;
}

/** The transaction's put of the run request (its last item). */
function putItemRequest(body: unknown, ctx = context(), header: Record<string, string> = {}): Json {
  const items = transaction(body, ctx, header).TransactItems as Json[];
  return items[items.length - 1].Put as Json;
}

describe('templates as Terraform strings', () => {
  it('hold no Terraform interpolation or directive but the table name', () => {
    const templates = [putTemplate, getTemplate, ...Object.values(resourcesOf(json, 'aws_api_gateway_integration_response')).map((r) => r.response_templates['application/json'] as string)];

    expect(rawPutTemplate).toMatch(/"TableName": "\$\{aws_dynamodb_table\.runs_[A-Za-z0-9_]+\.name\}"/);
    for (const template of templates) {
      expect(template).not.toContain('${');
      expect(template).not.toContain('%{');
    }
  });
});

describe('POST /runrequests request template (TransactWriteItems)', () => {
  it('writes an ACCEPTED item keyed by the request id, never overwriting one', () => {
    const request = putItemRequest({ processname: 'sample', clientname: 'erp-nightly' });

    expect(Object.keys(transaction({ processname: 'sample', clientname: 'erp-nightly' }))).toEqual(['TransactItems']);
    expect(transaction({ processname: 'sample', clientname: 'erp-nightly' }).TransactItems).toHaveLength(1);
    expect(request).toEqual({
      TableName: 'run-requests',
      ConditionExpression: 'attribute_not_exists(runRequestID)',
      Item: {
        runRequestID: { S: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' },
        status: { S: 'ACCEPTED' },
        receivedAt: { S: '2026-11-23T08:07:01Z' },
        receivedAtEpochMs: { N: String(REQUEST_TIME_EPOCH) },
        callerIdentity: { S: CALLER },
        processname: { S: 'sample' },
        clientname: { S: 'erp-nightly' },
      },
    });
  });

  it('keeps the optional fields as given: timestamp, clientId and parameters as a map of strings', () => {
    const request = putItemRequest({
      processname: 'sample',
      clientname: 'erp',
      timestamp: '2026-11-23 02:00:00',
      clientId: 'erp-01',
      parameters: { message: 'hello', count: '3' },
    });

    expect(request.Item.timestamp).toEqual({ S: '2026-11-23 02:00:00' });
    expect(request.Item.clientId).toEqual({ S: 'erp-01' });
    expect(request.Item.parameters).toEqual({ M: { message: { S: 'hello' }, count: { S: '3' } } });
  });

  it('omits an empty parameters map instead of writing an empty attribute', () => {
    expect(putItemRequest({ processname: 'p', clientname: 'c', parameters: {} }).Item).not.toHaveProperty('parameters');
  });

  it.each([
    ['month name', '01/Feb/2027:23:59:59 +0000', '2027-02-01T23:59:59Z'],
    ['December', '31/Dec/2026:00:00:00 +0000', '2026-12-31T00:00:00Z'],
  ])('turns $context.requestTime into ISO 8601 (%s)', (_, requestTime, iso) => {
    expect(putItemRequest({ processname: 'p', clientname: 'c' }, context({ requestTime })).Item.receivedAt).toEqual({ S: iso });
  });

  it('records the API key id as the caller when the request is not signed', () => {
    const request = putItemRequest({ processname: 'p', clientname: 'c' }, context({ identity: { apiKeyId: 'k3y1d' } }));

    expect(request.Item.callerIdentity).toEqual({ S: 'apikey:k3y1d' });
  });

  const hostile = [
    `it's`,
    `say "hi"`,
    `back\\slash`,
    `\\'`,
    `\\\\'`,
    `"}, "injected": {"S": "x`,
    `'}}, "ConditionExpression": "attribute_exists(x)", "x": {"S": "`,
    `{"$ref": "#/definitions"}`,
    `#set($x = 1) $context.requestId \${x}`,
    `tab\tnewline\ncarriage\r`,
    `unicode é € 🚀 \u2028`,
    `slash / and </script>`,
    `$util.escapeJavaScript("x")`,
  ];

  it.each(hostile)('stores %j exactly, as data, in every client field', (value) => {
    const body = { processname: 'sample', clientname: value, timestamp: value, clientId: 'c-1', parameters: { p1: value, p2: `${value}${value}` } };

    const request = putItemRequest(body);

    expect(Object.keys(request).sort()).toEqual(['ConditionExpression', 'Item', 'TableName']);
    expect(request.ConditionExpression).toBe('attribute_not_exists(runRequestID)');
    expect(Object.keys(request.Item).sort()).toEqual(
      ['callerIdentity', 'clientId', 'clientname', 'parameters', 'processname', 'receivedAt', 'receivedAtEpochMs', 'runRequestID', 'status', 'timestamp'].sort(),
    );
    expect(request.Item.clientname).toEqual({ S: value });
    expect(request.Item.timestamp).toEqual({ S: value });
    expect(request.Item.parameters).toEqual({ M: { p1: { S: value }, p2: { S: `${value}${value}` } } });
    expect(request.Item.status).toEqual({ S: 'ACCEPTED' });
  });

  it('keeps many parameters in order and valid JSON', () => {
    const parameters = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`key_${i}`, `value '${i}' "${i}"`]));

    const request = putItemRequest({ processname: 'p', clientname: 'c', parameters });

    expect(Object.keys(request.Item.parameters.M)).toEqual(Object.keys(parameters));
    expect(request.Item.parameters.M.key_31).toEqual({ S: `value '31' "31"` });
  });
});

describe('POST /runrequests with an Idempotency-Key', () => {
  const BODY = { processname: 'sample', clientname: 'erp', parameters: { day: '2026-11-23' } };
  const NOW_S = Math.floor(REQUEST_TIME_EPOCH / 1000);

  it('puts the key\'s body item, then its run item, then the run, in one transaction', () => {
    const raw = JSON.stringify(BODY);
    const items = transaction(raw, context(), { 'Idempotency-Key': 'nightly-2026-11-23' }).TransactItems as Json[];

    expect(items.map((i) => Object.keys(i)[0])).toEqual(['Put', 'Put', 'Put']);
    expect(items[0].Put).toEqual({
      TableName: 'run-requests',
      ConditionExpression: 'attribute_not_exists(runRequestID) OR expiresAt < :now OR requestBody = :body',
      ExpressionAttributeValues: { ':now': { N: String(NOW_S) }, ':body': { S: raw } },
      Item: {
        runRequestID: { S: `idempotency-key/nightly-2026-11-23/${CALLER}/body` },
        requestBody: { S: raw },
        expiresAt: { N: String(NOW_S + 86_400) },
      },
    });
    expect(items[1].Put).toEqual({
      TableName: 'run-requests',
      ConditionExpression: 'attribute_not_exists(runRequestID) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: String(NOW_S) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      Item: {
        runRequestID: { S: `idempotency-key/nightly-2026-11-23/${CALLER}/run` },
        keyedRunRequestID: { S: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' },
        receivedAt: { S: '2026-11-23T08:07:01Z' },
        expiresAt: { N: String(NOW_S + 86_400) },
      },
    });
    expect(items[2].Put.ConditionExpression).toBe('attribute_not_exists(runRequestID)');
    expect(items[2].Put.Item).toMatchObject({ runRequestID: { S: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' }, status: { S: 'ACCEPTED' }, idempotencyKey: { S: 'nightly-2026-11-23' } });
  });

  it('scopes a key to the caller: another identity (or an API key) with the same key names other items', () => {
    const keyItems = (ctx: RenderInput['context']) =>
      (transaction(BODY, ctx, { 'Idempotency-Key': 'k1' }).TransactItems as Json[]).slice(0, 2).map((i) => i.Put.Item.runRequestID.S as string);
    const mine = keyItems(context());
    const theirs = keyItems(context({ identity: { userArn: 'arn:aws:sts::111122223333:assumed-role/other/session' } }));
    const keyed = keyItems(context({ identity: { apiKeyId: 'k3y1d' } }));

    expect(new Set([...mine, ...theirs, ...keyed]).size).toBe(6);
    expect(keyed).toEqual(['idempotency-key/k1/apikey:k3y1d/body', 'idempotency-key/k1/apikey:k3y1d/run']);
  });

  it('stores the body exactly as sent, hostile text included, as data', () => {
    const raw = `{"processname": "p", "clientname": "it's \\"q\\" \\u2028 #set($x = 1) $context.requestId"}`;
    const items = transaction(raw, context(), { 'Idempotency-Key': 'k' }).TransactItems as Json[];

    expect(items[0].Put.Item.requestBody).toEqual({ S: raw });
    expect(items[0].Put.ExpressionAttributeValues[':body']).toEqual({ S: raw });
  });

  it.each(['x'.repeat(65), 'has space', 'a/b', 'é', 'k"}]'])('turns an invalid key %j into two failing ConditionChecks, putting nothing', (key) => {
    const items = transaction(BODY, context(), { 'Idempotency-Key': key }).TransactItems as Json[];

    expect(items).toEqual([
      { ConditionCheck: { TableName: 'run-requests', Key: { runRequestID: { S: 'idempotency-key/invalid/1' } }, ConditionExpression: 'attribute_exists(runRequestID)' } },
      { ConditionCheck: { TableName: 'run-requests', Key: { runRequestID: { S: 'idempotency-key/invalid/2' } }, ConditionExpression: 'attribute_exists(runRequestID)' } },
    ]);
  });

  it.each(['a', 'x'.repeat(64), 'A-z_0.9:-'])('accepts the key %j', (key) => {
    expect(transaction(BODY, context(), { 'Idempotency-Key': key }).TransactItems).toHaveLength(3);
  });

  it('finds the header whatever its case (HTTP/2 clients send it lower-case)', () => {
    expect(transaction(BODY, context(), { 'idempotency-key': 'k' }).TransactItems).toHaveLength(3);
  });

  const cancelled = (reasons: Json[]) =>
    JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException', message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [...]', CancellationReasons: reasons });
  const answer = (reasons: Json[]) => {
    const result = renderMappingTemplate(responseTemplate('post', '400'), { body: cancelled(reasons), context: context() });
    return { status: result.statusOverride, body: JSON.parse(result.output) as Json };
  };
  const CCF = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
  const NONE = { Code: 'None' };

  it('answers a repeat (the run item refused, with its item) 200 with the run the key started', () => {
    const item = { runRequestID: { S: 'idempotency-key/k/x/run' }, keyedRunRequestID: { S: 'first-request-id' }, receivedAt: { S: '2026-11-23T08:00:00Z' }, expiresAt: { N: '1' } };
    expect(answer([NONE, { ...CCF, Item: item }, NONE])).toEqual({
      status: 200,
      body: { runRequestID: 'first-request-id', replayed: true, receivedAt: '2026-11-23T08:00:00Z', requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' },
    });
  });

  it('answers another body under a live key 422, whether or not DynamoDB also reports the run item', () => {
    for (const reasons of [[CCF, CCF, NONE], [CCF, NONE, NONE]]) {
      const { status, body } = answer(reasons);
      expect(status).toBe(422);
      expect(body.message).toBe('this Idempotency-Key was used with another body in the last 24 hours: send that body again, or use a new key');
    }
  });

  it('answers two POSTs of one key at once (TransactionConflict) 409: in progress, retry', () => {
    const { status, body } = answer([{ Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }, NONE, NONE]);
    expect(status).toBe(409);
    expect(body.message).toBe('a request with this Idempotency-Key is in progress: retry shortly');
  });

  it('answers an invalid key (two reasons) 400 with the rule', () => {
    const { status, body } = answer([CCF, CCF]);
    expect(status).toBe(400);
    expect(body.message).toBe('invalid Idempotency-Key header: 1 to 64 characters of A-Z a-z 0-9 _ . : -');
  });

  it('answers a run id that exists already (one reason) 409, and a throttled item 429', () => {
    expect(answer([CCF])).toMatchObject({ status: 409, body: { message: 'a run request with this id already exists' } });
    expect(answer([NONE, { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' }, NONE])).toMatchObject({ status: 429 });
  });
});

describe('POST /runrequests response templates', () => {
  it('answers 202 with the run request id', () => {
    const result = renderMappingTemplate(responseTemplate('post', '202'), { body: '{}', context: context() });

    expect(result.statusOverride).toBeUndefined();
    expect(JSON.parse(result.output)).toEqual({ runRequestID: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', status: 'ACCEPTED' });
  });

  it.each([
    ['com.amazonaws.dynamodb.v20120810#ThrottlingException', 429, 'too many requests: retry with backoff'],
    ['com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 429, 'too many requests: retry with backoff'],
    ['com.amazonaws.dynamodb.v20120810#ValidationException', undefined, 'the run request could not be stored'],
    // The service's own faults, which DynamoDB answers with a 400: never the caller's 4xx.
    ['com.amazon.coral.service#AccessDeniedException', 503, 'the run requests table is unavailable: retry later'],
    ['com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', 503, 'the run requests table is unavailable: retry later'],
    ['com.amazon.coral.service#UnrecognizedClientException', 503, 'the run requests table is unavailable: retry later'],
  ])('maps a DynamoDB %s to %s without echoing its message', (type, status, message) => {
    const body = JSON.stringify({ __type: type, message: 'Table arn:aws:dynamodb:eu-west-1:111122223333:table/run-requests said no' });

    const result = renderMappingTemplate(responseTemplate('post', '400'), { body, context: context() });

    expect(result.statusOverride).toBe(status);
    const parsed = JSON.parse(result.output);
    expect(parsed).toEqual({ message, requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' });
    expect(result.output).not.toContain('111122223333');
  });

  it('answers a DynamoDB server error with a retryable JSON error', () => {
    const result = renderMappingTemplate(responseTemplate('post', '503'), { body: '{"__type":"InternalServerError"}', context: context() });

    expect(JSON.parse(result.output).message).toMatch(/retry later/);
  });
});

describe('GET /runrequests/{runRequestID} error templates', () => {
  it.each([
    ['com.amazonaws.dynamodb.v20120810#ValidationException', undefined, 'invalid run request id'],
    ['com.amazonaws.dynamodb.v20120810#ThrottlingException', 429, 'too many requests: retry with backoff'],
    ['com.amazon.coral.service#AccessDeniedException', 503, 'the run requests table is unavailable: retry later'],
    ['com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', 503, 'the run requests table is unavailable: retry later'],
  ])('maps a DynamoDB %s to %s with its own words (nothing about storing)', (type, status, message) => {
    const body = JSON.stringify({ __type: type, message: 'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes' });

    const result = renderMappingTemplate(responseTemplate('get', '400'), { body, context: context() });

    expect(result.statusOverride).toBe(status);
    expect(JSON.parse(result.output)).toEqual({ message, requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' });
  });
});

describe('GET /runrequests/{runRequestID} templates (GetItem)', () => {
  it('reads the item by the path id, consistently, with the id escaped', () => {
    const request = JSON.parse(renderMappingTemplate(getTemplate, { params: { path: { runRequestID: `abc"}, "x": "` } }, context: context() }).output);

    expect(request).toEqual({ TableName: 'run-requests', Key: { runRequestID: { S: `abc"}, "x": "` } }, ConsistentRead: true });
  });

  const item = {
    runRequestID: { S: 'c6af9ac6' },
    status: { S: 'FAILED' },
    processname: { S: 'sample' },
    clientname: { S: `it's "ok"` },
    receivedAt: { S: '2026-11-23T08:07:01Z' },
    jobId: { S: 'job-1' },
    reason: { S: 'Essential container in task exited' },
    exitCode: { N: '3' },
    callerIdentity: { S: CALLER },
    parameters: { M: { secret: { S: 'do not show' } } },
  };

  it('returns the fields a caller needs and nothing internal', () => {
    const result = renderMappingTemplate(responseTemplate('get', '200'), { body: JSON.stringify({ Item: item }), context: context() });

    expect(result.statusOverride).toBeUndefined();
    expect(JSON.parse(result.output)).toEqual({
      runRequestID: 'c6af9ac6',
      status: 'FAILED',
      processname: 'sample',
      clientname: `it's "ok"`,
      receivedAt: '2026-11-23T08:07:01Z',
      jobId: 'job-1',
      reason: 'Essential container in task exited',
      exitCode: 3,
    });
  });

  describe('the link to the result', () => {
    const URL = 'https://artifacts.s3.amazonaws.com/c6af9ac6/barcode.png?X-Amz-Signature=ab&X-Amz-Expires=86400';
    const succeeded = (extra: Json) => ({ ...item, status: { S: 'SUCCEEDED' }, reason: undefined, exitCode: undefined, resultUrl: { S: URL }, ...extra });
    const render = (it: Json) => JSON.parse(renderMappingTemplate(responseTemplate('get', '200'), { body: JSON.stringify({ Item: it }), context: context() }).output);

    it('returns it with its expiry while it works', () => {
      const body = render(succeeded({ resultUrlExpiresAt: { S: '2026-11-24T08:07:01.000Z' }, resultUrlExpiresAtEpochMs: { N: String(REQUEST_TIME_EPOCH + 86_400_000) } }));

      expect(body).toMatchObject({ status: 'SUCCEEDED', url: URL, urlExpiresAt: '2026-11-24T08:07:01.000Z' });
    });

    it('leaves it out once it has expired, to the millisecond', () => {
      expect(render(succeeded({ resultUrlExpiresAt: { S: 'x' }, resultUrlExpiresAtEpochMs: { N: String(REQUEST_TIME_EPOCH) } }))).not.toHaveProperty('url');
      expect(render(succeeded({ resultUrlExpiresAt: { S: 'x' }, resultUrlExpiresAtEpochMs: { N: String(REQUEST_TIME_EPOCH + 1) } }))).toHaveProperty('url', URL);
    });

    it('returns a link whose lifetime the route did not say', () => {
      expect(render(succeeded({}))).toMatchObject({ url: URL });
      expect(render(succeeded({}))).not.toHaveProperty('urlExpiresAt');
    });
  });

  it('answers 404 when the item does not exist', () => {
    const result = renderMappingTemplate(responseTemplate('get', '200'), { body: '{}', context: context() });

    expect(result.statusOverride).toBe(404);
    expect(JSON.parse(result.output).message).toBe('run request not found');
  });

  it("answers 404, not the status, to a caller who did not post the request", () => {
    const other = context({ identity: { userArn: 'arn:aws:iam::111122223333:user/someone-else' } });

    const result = renderMappingTemplate(responseTemplate('get', '200'), { body: JSON.stringify({ Item: item }), context: other });

    expect(result.statusOverride).toBe(404);
    expect(result.output).not.toContain('FAILED');
  });
});
