import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { recordOutcome } from '../../lambdas/record-status/core';
import { InvalidInputError, ThrottledError } from '../../lambdas/shared/aws-errors';
import { logger } from '../../lambdas/shared/logger';
import { StatusStoreDeps, TERMINAL_PROGRESS } from '../../lambdas/shared/run-requests-table';
import { lambdaContext } from '../helpers/lambda-context';

const TABLE_NAME = 'batch-gateway-run-requests';
const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
// 2024-06-10T06:20:02.480Z: a second after the request arrived (a rejection is decided at once).
const NOW_MS = 1718000402480;
const NOW_S = 1718000402;
const NOW_ISO = '2024-06-10T06:20:02.480Z';
const RETENTION_DAYS = 90;

const ddbMock = mockClient(DynamoDBClient);

function deps(): StatusStoreDeps {
  return { ddb: new DynamoDBClient({}), tableName: TABLE_NAME, finishedRetentionDays: RETENTION_DAYS, now: () => NOW_MS };
}

function sentUpdates() {
  return ddbMock.commandCalls(UpdateItemCommand).map((call) => {
    const input = call.args[0].input;
    return { input, values: unmarshall(input.ExpressionAttributeValues!) };
  });
}

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(UpdateItemCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('recordOutcome', () => {
  test.each([
    // What 'Record rejection' passes for an unknown processname.
    ['REJECTED', 'no route for processname nightly-export'],
    // What 'Record failure' passes when a Task failed after its retries.
    ['FAILED', 'orchestration error: States.TaskFailed'],
  ] as const)('writes %s with its reason, terminal progress and TTL', async (status, reason) => {
    // Prepare
    const event = { runRequestID: RUN_REQUEST_ID, status, reason };

    // Act
    const result = await recordOutcome(event, deps());

    // Assess
    expect(result).toEqual({ status, reason, recorded: true });
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: { runRequestID: { S: RUN_REQUEST_ID } },
      UpdateExpression:
        'SET #status = :status, statusProgress = :progress, updatedAt = :at, statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry),' +
        ' reason = :reason, expiresAt = :expiresAt',
      ConditionExpression: 'attribute_exists(runRequestID) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: expect.any(Object),
    });
    expect(updates[0].values).toEqual({
      ':status': status,
      ':progress': TERMINAL_PROGRESS,
      ':at': NOW_ISO,
      ':entry': [{ status, at: NOW_ISO, reason }],
      ':empty': [],
      ':reason': reason,
      ':expiresAt': NOW_S + RETENTION_DAYS * 86400,
    });
    expect(updates[0].values[':expiresAt']).toBeLessThan(1e11);
  });

  test("keeps a Lambda route's result link and its expiry on the item, for GET", async () => {
    const url = 'https://artifacts.s3.us-east-1.amazonaws.com/6c1b5e0a/barcode.png?X-Amz-Signature=abc';

    const result = await recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED', result: { ok: true, url, expiresAt: '2024-06-11T06:20:02Z', key: 'k' } }, deps());

    expect(result).toEqual({ status: 'SUCCEEDED', reason: undefined, recorded: true, resultUrl: true });
    expect(sentUpdates()[0].values).toMatchObject({ ':resultUrl': url, ':resultUrlExpiresAt': '2024-06-11T06:20:02.000Z', ':resultUrlExpiresAtEpochMs': Date.UTC(2024, 5, 11, 6, 20, 2) });
  });

  test.each([
    ['no url', { ok: true }, {}],
    ['a url that is not http(s)', { ok: true, url: 'file:///etc/passwd' }, {}],
    ['an expiry that is not a date', { ok: true, url: 'https://example.com/r', expiresAt: 'tomorrow-ish' }, { ':resultUrl': 'https://example.com/r' }],
  ])("records a route's success with %s, keeping only what is a link and a date", async (_what, routeResult, expected) => {
    await recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED', result: routeResult }, deps());

    const values = sentUpdates()[0].values;
    expect(values[':status']).toBe('SUCCEEDED');
    expect(Object.keys(values).filter((k) => k.startsWith(':resultUrl')).sort()).toEqual(Object.keys(expected).sort());
    expect(values).toMatchObject(expected);
  });

  test('returns recorded: false, without throwing, when the item already holds an outcome', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'FAILED', reason: 'orchestration error: JobNotFoundError' }, deps());

    // Assess
    expect(result).toEqual({ status: 'FAILED', reason: 'orchestration error: JobNotFoundError', recorded: false });
  });

  test('throws ThrottledError when the table is still throttled, so the state machine retries', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(new ProvisionedThroughputExceededException({ message: 'Throughput exceeds the current capacity', $metadata: { httpStatusCode: 400 } }));

    // Act & Assess
    await expect(recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'REJECTED', reason: 'no route' }, deps())).rejects.toThrow(ThrottledError);
  });

  test('stores the reason as one bounded line, even if a cause slipped into it', async () => {
    // Prepare
    const reason = `orchestration error: Error\n    at submitJob (/var/task/index.js:1:2345)\n${'x'.repeat(2000)}`;

    // Act
    await recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'FAILED', reason }, deps());

    // Assess
    const stored = sentUpdates()[0].values[':reason'] as string;
    expect(stored).not.toContain('\n');
    expect(stored).toHaveLength(1024);
    expect(stored).toMatch(/^orchestration error: Error +at submitJob \(\/var\/task\/index\.js:1:2345\) x+…$/);
  });

  test.each([
    ['a status only Batch reports (PENDING)', { runRequestID: RUN_REQUEST_ID, status: 'PENDING', reason: 'x' }, 'status: must be one of REJECTED, FAILED, TIMED_OUT, RUNNING, SUCCEEDED'],
    ['an unknown status', { runRequestID: RUN_REQUEST_ID, status: 'DONE', reason: 'x' }, 'status: must be one of REJECTED, FAILED, TIMED_OUT, RUNNING, SUCCEEDED'],
    ['no reason for a failure', { runRequestID: RUN_REQUEST_ID, status: 'FAILED' }, 'reason is required with status FAILED'],
    ['a notification failure without reason', { runRequestID: RUN_REQUEST_ID, notification: 'FAILED' }, 'reason: expected string'],
    ['an empty reason', { runRequestID: RUN_REQUEST_ID, status: 'FAILED', reason: '' }, 'reason: must be >= 1'],
    ['no runRequestID', { status: 'REJECTED', reason: 'x' }, 'runRequestID: expected string'],
  ])('rejects an input with %s, naming the path, and writes nothing', async (_label, event, problem) => {
    // Act
    const result = recordOutcome(event, deps());

    // Assess
    await expect(result).rejects.toThrow(InvalidInputError);
    await expect(result).rejects.toThrow(`record-status: invalid input: ${problem}`);
    expect(ddbMock.calls()).toHaveLength(0);
  });
});

describe('handler', () => {
  const ENV_TABLE = 'batch-gateway-test-run-requests';
  const saved = { ...process.env };


  /** Loaded after the environment is set: the handler reads it from its module scope on first use. */
  function loadHandler(): typeof import('../../lambdas/record-status/handler').handler {
    return (require('../../lambdas/record-status/handler') as typeof import('../../lambdas/record-status/handler')).handler;
  }

  beforeAll(() => {
    process.env.TABLE_NAME = ENV_TABLE;
    process.env.FINISHED_RETENTION_DAYS = '14';
  });

  afterAll(() => {
    process.env = saved;
  });

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  test('records the outcome in the table and with the retention its environment names', async () => {
    // Prepare
    const handler = loadHandler();
    const event = { runRequestID: RUN_REQUEST_ID, status: 'REJECTED', reason: 'no route for processname nightly-export' };

    // Act
    const result = await handler(event, lambdaContext('batch-gateway-record-status'));

    // Assess
    expect(result).toEqual({ status: 'REJECTED', reason: 'no route for processname nightly-export', recorded: true });
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input.TableName).toBe(ENV_TABLE);
    expect(updates[0].values).toMatchObject({ ':status': 'REJECTED', ':at': NOW_ISO, ':expiresAt': NOW_S + 14 * 86400 });
    expect(logger.info).toHaveBeenCalledWith('Outcome recorded', { runRequestID: RUN_REQUEST_ID, status: 'REJECTED', reason: 'no route for processname nightly-export', recorded: true });
  });

  test('rejects an invalid status with InvalidInputError', async () => {
    // Prepare
    const handler = loadHandler();

    // Act & Assess
    await expect(handler({ runRequestID: RUN_REQUEST_ID, status: 'PENDING', reason: 'x' }, lambdaContext('batch-gateway-record-status'))).rejects.toThrow(InvalidInputError);
    expect(ddbMock.calls()).toHaveLength(0);
  });
});

describe('recordOutcome, for the outcomes of Lambda routes and notifications', () => {
  beforeEach(() => ddbMock.reset());

  test('records SUCCEEDED without a reason, with the TTL of a finished request', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});

    const result = await recordOutcome({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED' }, deps());

    expect(result).toEqual({ status: 'SUCCEEDED', reason: undefined, recorded: true });
    const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.UpdateExpression).toContain('expiresAt = :expiresAt');
    expect(input.UpdateExpression).toContain('REMOVE reason');
  });

  test('records a failed notification on the item without touching its status', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});

    const result = await recordOutcome({ runRequestID: RUN_REQUEST_ID, notification: 'FAILED', reason: 'notification error: ThrottledError' }, deps());

    expect(result).toEqual({ notification: 'FAILED', reason: 'notification error: ThrottledError', recorded: true });
    const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.UpdateExpression).toBe('SET notification = :outcome, notifiedAt = :at, notificationError = :reason');
    expect(input.UpdateExpression).not.toContain('#status');
    expect(input.ConditionExpression).toBe('attribute_exists(runRequestID)');
  });
});
