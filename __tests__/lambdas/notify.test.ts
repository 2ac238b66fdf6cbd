import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidInputError, ThrottledError } from '../../lambdas/shared/aws-errors';
import { ConfigurationError } from '../../lambdas/shared/errors';
import { logger } from '../../lambdas/shared/logger';
import { parseInput } from '../../lambdas/shared/parse-input';
import {
  managementEndpointFrom,
  MAX_ERROR_MESSAGE_LENGTH,
  notificationMessage,
  notify,
  type NotifyDeps,
} from '../../lambdas/notify/core';
import { type NotifyInput, notifyInputSchema } from '../../contract';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'websocket');
function rawInput(change: (raw: Record<string, any>) => void = () => undefined): Record<string, any> {
  const raw = JSON.parse(readFileSync(path.join(FIXTURES, 'notify-input.json'), 'utf8')) as Record<string, any>;
  change(raw);
  return raw;
}
/** The input as the handler hands it to the core (parsed). */
function notifyInput(change?: (raw: Record<string, any>) => void): NotifyInput {
  return parseInput(notifyInputSchema, rawInput(change), 'test');
}

const CONNECTIONS_TABLE = 'batch-gateway-connections';
const CONNECTIONS_INDEX = 'byClientId';
const RUN_REQUESTS_TABLE = 'batch-gateway-run-requests';
const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
const CLIENT_ID = 'acme-42';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/acme-submitter/session-1718000398';
const OTHER_CALLER = 'arn:aws:sts::123456789012:assumed-role/someone-else/session-1718000001';
const URL = rawInput().notification.url as string;
// 2024-06-10T06:36:40.500Z
const NOW_MS = 1718001400500;
const NOW_S = 1718001400;
const NOW_ISO = '2024-06-10T06:36:40.500Z';

const ddbMock = mockClient(DynamoDBClient);
const apigwMock = mockClient(ApiGatewayManagementApiClient);

function deps(): NotifyDeps {
  return {
    ddb: new DynamoDBClient({}),
    apigw: new ApiGatewayManagementApiClient({ endpoint: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1' }),
    connectionsTable: CONNECTIONS_TABLE,
    runRequestsTable: RUN_REQUESTS_TABLE,
    now: () => NOW_MS,
  };
}

/** A connection record as the index returns it (projection ALL). */
function connection(connectionId: string, change: Record<string, unknown> = {}) {
  return marshall(
    {
      connectionId,
      clientId: CLIENT_ID,
      callerIdentity: CALLER,
      connectedAt: '2024-06-10T06:19:58.412Z',
      expiresAt: NOW_S + 1800,
      ...change,
    },
    { removeUndefinedValues: true },
  );
}

function queryReturns(...items: ReturnType<typeof connection>[]) {
  ddbMock.on(QueryCommand).resolves({ Items: items, Count: items.length, ScannedCount: items.length });
}

/** What each PostToConnection sent: the connection and the payload's bytes, decoded and parsed. */
function sentMessages() {
  return apigwMock.commandCalls(PostToConnectionCommand).map((call) => {
    const { ConnectionId, Data } = call.args[0].input;
    const text = typeof Data === 'string' ? Data : Buffer.from(Data as Uint8Array).toString('utf8');
    return { connectionId: ConnectionId, text, message: JSON.parse(text) as Record<string, any> };
  });
}

function recordedOutcomes() {
  return ddbMock.commandCalls(UpdateItemCommand).map((call) => {
    const input = call.args[0].input;
    return { input, values: unmarshall(input.ExpressionAttributeValues!) };
  });
}

function gone(): GoneException {
  return new GoneException({ message: '', $metadata: { httpStatusCode: 410 } });
}

beforeEach(() => {
  ddbMock.reset();
  apigwMock.reset();
  queryReturns();
  ddbMock.on(UpdateItemCommand).resolves({});
  ddbMock.on(DeleteItemCommand).resolves({});
  apigwMock.on(PostToConnectionCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('notify', () => {
  test("sends one message to each live connection of the request's identity and records SENT", async () => {
    // Prepare
    queryReturns(connection('conn-A='), connection('conn-B='), connection('conn-C='));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: CONNECTIONS_TABLE,
        IndexName: CONNECTIONS_INDEX,
        KeyConditionExpression: 'clientId = :clientId',
        ExpressionAttributeValues: { ':clientId': { S: CLIENT_ID } },
        ProjectionExpression: 'connectionId, callerIdentity, expiresAt',
      },
    ]);
    const sent = sentMessages();
    expect(sent.map((s) => s.connectionId).sort()).toEqual(['conn-A=', 'conn-B=', 'conn-C=']);
    for (const { message, text } of sent) {
      expect(message).toEqual({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED', url: URL });
      expect(text).toBe(JSON.stringify({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED', url: URL }));
    }
    expect(recordedOutcomes().map((o) => o.input)).toEqual([
      {
        TableName: RUN_REQUESTS_TABLE,
        Key: { runRequestID: { S: RUN_REQUEST_ID } },
        UpdateExpression: 'SET notification = :outcome, notifiedAt = :at, notifiedConnections = :sentTo',
        ConditionExpression: 'attribute_exists(runRequestID)',
        ExpressionAttributeValues: { ':outcome': { S: 'SENT' }, ':at': { S: NOW_ISO }, ':sentTo': { N: '3' } },
      },
    ]);
    expect(result).toEqual({ outcome: 'SENT', sent: 3, gone: 0, failed: 0, skipped: 0 });
  });

  test('sends after finding the connections and records the outcome after sending', async () => {
    // Prepare
    queryReturns(connection('conn-A='));

    // Act
    await notify(notifyInput(), deps());

    // Assess
    const query = ddbMock.commandCalls(QueryCommand)[0];
    const post = apigwMock.commandCalls(PostToConnectionCommand)[0];
    const update = ddbMock.commandCalls(UpdateItemCommand)[0];
    expect(query.calledBefore(post)).toBe(true);
    expect(post.calledBefore(update)).toBe(true);
  });

  test('follows every page of the index', async () => {
    // Prepare
    const lastKey = { connectionId: { S: 'conn-A=' }, clientId: { S: CLIENT_ID } };
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [connection('conn-A=')], LastEvaluatedKey: lastKey })
      .resolvesOnce({ Items: [connection('conn-B=')] });

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    const queries = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(2);
    expect(queries[0].ExclusiveStartKey).toBeUndefined();
    expect(queries[1].ExclusiveStartKey).toEqual(lastKey);
    expect(sentMessages().map((s) => s.connectionId)).toEqual(['conn-A=', 'conn-B=']);
    expect(result).toMatchObject({ outcome: 'SENT', sent: 2 });
  });

  test('skips an expired connection that TTL has not deleted yet', async () => {
    // Prepare
    queryReturns(
      connection('conn-live='),
      connection('conn-expired=', { expiresAt: NOW_S - 86_400 }),
      connection('conn-expiring-now=', { expiresAt: NOW_S }),
      connection('conn-no-expiry=', { expiresAt: undefined }),
    );

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(sentMessages().map((s) => s.connectionId)).toEqual(['conn-live=']);
    expect(result).toEqual({ outcome: 'SENT', sent: 1, gone: 0, failed: 0, skipped: 3 });
  });

  test('sends nothing to a connection of the same clientId opened by another identity', async () => {
    // Prepare
    queryReturns(connection('conn-mine='), connection('conn-theirs=', { callerIdentity: OTHER_CALLER }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(sentMessages().map((s) => s.connectionId)).toEqual(['conn-mine=']);
    expect(result).toEqual({ outcome: 'SENT', sent: 1, gone: 0, failed: 0, skipped: 1 });
  });

  test('records NO_CONNECTION, without error, when only another identity listens on the clientId', async () => {
    // Prepare
    queryReturns(connection('conn-theirs=', { callerIdentity: OTHER_CALLER }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(apigwMock.calls()).toHaveLength(0);
    expect(recordedOutcomes()[0].values).toEqual({ ':outcome': 'NO_CONNECTION', ':at': NOW_ISO, ':sentTo': 0 });
    expect(result).toEqual({ outcome: 'NO_CONNECTION', sent: 0, gone: 0, failed: 0, skipped: 1 });
  });

  test('records NO_CONNECTION, without error, when nobody listens on the clientId', async () => {
    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(apigwMock.calls()).toHaveLength(0);
    const outcomes = recordedOutcomes();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].input.ConditionExpression).toBe('attribute_exists(runRequestID)');
    expect(outcomes[0].values).toEqual({ ':outcome': 'NO_CONNECTION', ':at': NOW_ISO, ':sentTo': 0 });
    expect(result).toEqual({ outcome: 'NO_CONNECTION', sent: 0, gone: 0, failed: 0, skipped: 0 });
  });

  test('deletes the record of a gone connection only, and still reaches the others', async () => {
    // Prepare
    queryReturns(connection('conn-A='), connection('conn-gone='), connection('conn-C='));
    apigwMock.on(PostToConnectionCommand, { ConnectionId: 'conn-gone=' }).rejects(gone());

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(ddbMock.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: CONNECTIONS_TABLE, Key: { connectionId: { S: 'conn-gone=' } } },
    ]);
    expect(apigwMock.commandCalls(PostToConnectionCommand)).toHaveLength(3);
    expect(recordedOutcomes()[0].values).toMatchObject({ ':outcome': 'SENT', ':sentTo': 2 });
    expect(result).toEqual({ outcome: 'SENT', sent: 2, gone: 1, failed: 0, skipped: 0 });
  });

  test('records NO_CONNECTION when every connection turns out to be gone', async () => {
    // Prepare
    queryReturns(connection('conn-gone='));
    apigwMock.on(PostToConnectionCommand).rejects(gone());

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toEqual({ outcome: 'NO_CONNECTION', sent: 0, gone: 1, failed: 0, skipped: 0 });
    expect(recordedOutcomes()[0].values).toMatchObject({ ':outcome': 'NO_CONNECTION', ':sentTo': 0 });
  });

  test('counts a gone connection whose record cannot be deleted as gone, without throwing', async () => {
    // Prepare
    queryReturns(connection('conn-gone='));
    apigwMock.on(PostToConnectionCommand).rejects(gone());
    ddbMock.on(DeleteItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toMatchObject({ gone: 1, failed: 0 });
    expect(logger.warn).toHaveBeenCalledWith('Could not delete the record of a gone connection', expect.objectContaining({ connectionId: 'conn-gone=' }));
  });

  test('records FAILED and returns, without throwing or deleting, when every send fails', async () => {
    // Prepare
    queryReturns(connection('conn-A='), connection('conn-B='));
    const limited = new LimitExceededException({ message: 'Limit exceeded', $metadata: { httpStatusCode: 429 } });
    apigwMock.on(PostToConnectionCommand, { ConnectionId: 'conn-A=' }).rejects(limited);
    apigwMock.on(PostToConnectionCommand, { ConnectionId: 'conn-B=' }).rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toEqual({ outcome: 'FAILED', sent: 0, gone: 0, failed: 2, skipped: 0 });
    expect(recordedOutcomes()[0].values).toEqual({ ':outcome': 'FAILED', ':at': NOW_ISO, ':sentTo': 0 });
    expect(ddbMock.commandCalls(DeleteItemCommand)).toHaveLength(0);
    expect(logger.error).toHaveBeenCalledWith('Could not notify a connection', { connectionId: 'conn-A=', error: limited });
  });

  test('records SENT when some sends fail and at least one succeeds', async () => {
    // Prepare
    queryReturns(connection('conn-A='), connection('conn-B='));
    apigwMock.on(PostToConnectionCommand, { ConnectionId: 'conn-B=' }).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toEqual({ outcome: 'SENT', sent: 1, gone: 0, failed: 1, skipped: 0 });
  });

  test('sends a connection listed twice one message only', async () => {
    // Prepare
    queryReturns(connection('conn-A='), connection('conn-A='));

    // Act
    await notify(notifyInput(), deps());

    // Assess
    expect(apigwMock.commandCalls(PostToConnectionCommand)).toHaveLength(1);
  });

  test('throws ThrottledError, sending and recording nothing, when the Query is throttled', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    ddbMock.on(QueryCommand).rejects(throttled);

    // Act
    const result = notify(notifyInput(), deps());

    // Assess
    await expect(result).rejects.toThrow(ThrottledError);
    await expect(result).rejects.toMatchObject({ name: 'ThrottledError', message: 'Query throttled', cause: throttled });
    expect(apigwMock.calls()).toHaveLength(0);
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  test('ignores a run request that no longer exists (the condition fails)', async () => {
    // Prepare
    queryReturns(connection('conn-A='));
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toEqual({ outcome: 'SENT', sent: 1, gone: 0, failed: 0, skipped: 0 });
  });

  test('does not throw when recording fails after a send (a retry would send again)', async () => {
    // Prepare
    queryReturns(connection('conn-A='));
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await notify(notifyInput(), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'SENT', sent: 1 });
    expect(logger.error).toHaveBeenCalledWith('Could not record the notification outcome', expect.objectContaining({ outcome: 'SENT' }));
  });

  test('throws ThrottledError when recording NO_CONNECTION is throttled (nothing was sent, a retry duplicates nothing)', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    // Act & Assess
    await expect(notify(notifyInput(), deps())).rejects.toThrow(ThrottledError);
  });

  test('sends an error as code and one line of message, never a stack trace or a cause', async () => {
    // Prepare
    queryReturns(connection('conn-A='));
    const input = notifyInput((raw) => {
      delete raw.notification.url;
      raw.notification.status = 'FAILED';
      raw.notification.error = {
        code: 'JOB_FAILED',
        message: 'Essential container in task exited\n    at Runtime.handler (/var/task/index.js:12:7)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        stack: 'Error: boom\n    at secret (/var/task/index.js:1:1)',
        cause: { errorType: 'InternalError', trace: ['at /var/task/index.js'] },
      };
      raw.stack = 'Error: outer';
    });

    // Act
    await notify(input, deps());

    // Assess
    const [{ message, text }] = sentMessages();
    expect(message).toEqual({ runRequestID: RUN_REQUEST_ID, status: 'FAILED', error: { code: 'JOB_FAILED', message: 'Essential container in task exited' } });
    expect(Object.keys(message)).toEqual(['runRequestID', 'status', 'error']);
    expect(Object.keys(message.error)).toEqual(['code', 'message']);
    expect(text).not.toMatch(/stack|cause|trace|\/var\/task|\bat /i);
  });

  test(`caps the error message at ${MAX_ERROR_MESSAGE_LENGTH} characters`, async () => {
    // Prepare
    queryReturns(connection('conn-A='));
    const input = notifyInput((raw) => {
      raw.notification.status = 'FAILED';
      raw.notification.error = { code: 'JOB_FAILED', message: `${'x'.repeat(510)}😀😀 and more` };
    });

    // Act
    await notify(input, deps());

    // Assess
    const errorMessage: string = sentMessages()[0].message.error.message;
    expect(errorMessage.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_LENGTH);
    expect(errorMessage).toBe(`${'x'.repeat(510)}…`);
  });
});

describe('notificationMessage', () => {
  test('has only runRequestID and status when there is neither url nor error', () => {
    // Prepare
    const input = notifyInput((raw) => {
      delete raw.notification.url;
      raw.notification.status = 'RUNNING';
    });

    // Act & Assess
    expect(notificationMessage(input)).toBe(`{"runRequestID":"${RUN_REQUEST_ID}","status":"RUNNING"}`);
  });

  test('keeps a short one-line error message as it is', () => {
    // Prepare
    const input = notifyInput((raw) => {
      raw.notification.status = 'TIMED_OUT';
      raw.notification.error = { code: 'TIMED_OUT', message: 'The job ran past its maximum run time of 3600 s' };
    });

    // Act & Assess
    expect(JSON.parse(notificationMessage(input))).toEqual({
      runRequestID: RUN_REQUEST_ID,
      status: 'TIMED_OUT',
      url: URL,
      error: { code: 'TIMED_OUT', message: 'The job ran past its maximum run time of 3600 s' },
    });
  });
});

describe('notifyInputSchema', () => {
  test.each([
    ['an unknown status', (raw: Record<string, any>) => (raw.notification.status = 'DONE'), 'notification.status: must be one of'],
    ['no callerIdentity', (raw: Record<string, any>) => delete raw.callerIdentity, 'callerIdentity: expected string'],
    ['an empty clientId', (raw: Record<string, any>) => (raw.clientId = ''), 'clientId: must be >= 1'],
    ['an error without code', (raw: Record<string, any>) => (raw.notification.error = { message: 'x' }), 'notification.error.code: must be one of JOB_FAILED, REJECTED, TIMED_OUT, ORCHESTRATION_ERROR'],
  ])('refuses input with %s, naming the path', (_label, change, problem) => {
    // Act & Assess
    expect(() => parseInput(notifyInputSchema, rawInput(change), 'notify')).toThrow(InvalidInputError);
    expect(() => parseInput(notifyInputSchema, rawInput(change), 'notify')).toThrow(problem);
  });
});

describe('managementEndpointFrom', () => {
  test('accepts the stage https URL', () => {
    // Act & Assess
    expect(managementEndpointFrom('https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1')).toBe('https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1');
  });

  test.each([
    ['the wss URL clients connect to', 'wss://abc123defg.execute-api.eu-west-1.amazonaws.com/v1'],
    ['a host without a scheme', 'abc123defg.execute-api.eu-west-1.amazonaws.com/v1'],
  ])('refuses %s with ConfigurationError naming the value', (_label, value) => {
    // Act & Assess
    expect(() => managementEndpointFrom(value)).toThrow(ConfigurationError);
    expect(() => managementEndpointFrom(value)).toThrow(`(got '${value}')`);
  });
});

describe('handler', () => {
  const saved = { ...process.env };
  const ENDPOINT = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1';


  /** Loaded after the environment is set: the handler reads it on first use. */
  function loadHandler(): typeof import('../../lambdas/notify/handler').handler {
    return (require('../../lambdas/notify/handler') as typeof import('../../lambdas/notify/handler')).handler;
  }

  beforeAll(() => {
    process.env.WEBSOCKET_ENDPOINT = ENDPOINT;
    process.env.CONNECTIONS_TABLE = 'batch-gateway-test-connections';
    process.env.TABLE_NAME = 'batch-gateway-test-run-requests';
  });

  afterAll(() => {
    process.env = saved;
  });

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  test('notifies through the configured stage, tables and default index, and returns the counts', async () => {
    // Prepare
    const handler = loadHandler();
    queryReturns(connection('conn-A='));

    // Act
    const result = await handler(rawInput(), lambdaContext('batch-gateway-notify'));

    // Assess
    expect(result).toEqual({ outcome: 'SENT', sent: 1, gone: 0, failed: 0, skipped: 0 });
    const query = ddbMock.commandCalls(QueryCommand)[0].args[0].input;
    expect(query).toMatchObject({ TableName: 'batch-gateway-test-connections', IndexName: 'byClientId' });
    expect(ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input.TableName).toBe('batch-gateway-test-run-requests');
    const post = apigwMock.commandCalls(PostToConnectionCommand)[0];
    const endpoint = await (post.thisValue as ApiGatewayManagementApiClient).config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}${endpoint.path}`).toBe(ENDPOINT);
    expect(logger.info).toHaveBeenCalledWith('Notification done', expect.objectContaining({ outcome: 'SENT', status: 'SUCCEEDED' }));
  });

  test('rejects malformed input with InvalidInputError before any AWS call', async () => {
    // Prepare
    const handler = loadHandler();

    // Act
    const result = handler(rawInput((raw) => (raw.notification.status = 'DONE')), lambdaContext('batch-gateway-notify'));

    // Assess
    await expect(result).rejects.toThrow(InvalidInputError);
    expect(ddbMock.calls()).toHaveLength(0);
    expect(apigwMock.calls()).toHaveLength(0);
  });

  test('logs and rethrows a throttled Query as ThrottledError', async () => {
    // Prepare
    const handler = loadHandler();
    ddbMock.on(QueryCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    // Act & Assess
    await expect(handler(rawInput(), lambdaContext('batch-gateway-notify'))).rejects.toThrow(ThrottledError);
    expect(logger.error).toHaveBeenCalledWith('Notify failed', { error: expect.any(ThrottledError) });
  });
});
