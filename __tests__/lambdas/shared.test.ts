import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerException } from '@aws-sdk/client-batch';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { TASK_RETRY } from '../../modules/orchestration/definition';
import {
  AwsServiceError,
  BatchServerError,
  InvalidInputError,
  isNetworkError,
  isThrottling,
  JobNotFoundError,
  surfaceAwsError,
  ThrottledError,
} from '../../lambdas/shared/aws-errors';
import { DEFAULT_POLLING, isTerminal, pollInputSchema, RUN_REQUEST_STATUSES, submitInputSchema, TERMINAL_STATUSES, TRANSIENT_ERROR_NAMES, waitSecondsFor } from '../../contract';
import { parseInput } from '../../lambdas/shared/parse-input';
import { recordStatus, sanitizeReason, statusProgress, StatusStoreDeps, TERMINAL_PROGRESS } from '../../lambdas/shared/run-requests-table';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'orchestration');
/** A fresh copy each time, so a test can break it without affecting the others. */
function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

const TABLE_NAME = 'batch-gateway-run-requests';
const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
// 2024-06-10T06:35:00.750Z: a fixed clock with a fractional second, so flooring to epoch seconds shows.
const NOW_MS = Date.UTC(2024, 5, 10, 6, 35, 0, 750);
const NOW_ISO = '2024-06-10T06:35:00.750Z';
const NOW_S = 1718001300;
const BASE_CONDITION = 'attribute_exists(runRequestID) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)';
const BASE_SET =
  'SET #status = :status, statusProgress = :progress, updatedAt = :at, statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry)';

const ddbMock = mockClient(DynamoDBClient);

function storeDeps(): StatusStoreDeps {
  return { ddb: new DynamoDBClient({}), tableName: TABLE_NAME, finishedRetentionDays: 90, now: () => NOW_MS };
}

/** The one UpdateItem sent, with its attribute values unmarshalled for readable assertions. */
function sentUpdate() {
  const calls = ddbMock.commandCalls(UpdateItemCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input;
  return { input, values: unmarshall(input.ExpressionAttributeValues!) };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(UpdateItemCommand).resolves({});
});

describe('statusProgress', () => {
  test('orders the in-flight statuses of one attempt as Batch moves through them', () => {
    // Prepare
    const order = ['ACCEPTED', 'SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'] as const;

    // Act
    const progress = order.map((status) => statusProgress(status, 0));

    // Assess
    expect(progress).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("places the next attempt's RUNNABLE after this attempt's RUNNING", () => {
    // Act
    const running = statusProgress('RUNNING', 0);
    const retried = statusProgress('RUNNABLE', 1);

    // Assess
    expect(retried).toBe(13);
    expect(retried).toBeGreaterThan(running);
  });

  test('places every terminal status above any in-flight status of any attempt Batch allows (at most 10)', () => {
    // Prepare
    const inFlight = RUN_REQUEST_STATUSES.filter((s) => !isTerminal(s));

    // Act
    const highestInFlight = Math.max(...inFlight.map((s) => statusProgress(s, 9)));
    const terminal = TERMINAL_STATUSES.map((s) => statusProgress(s, 0));

    // Assess
    for (const progress of terminal) expect(progress).toBeGreaterThan(highestInFlight);
  });

  test('gives all terminal statuses the same progress, whatever the attempt, so none overwrites another', () => {
    // Act
    const progress = TERMINAL_STATUSES.flatMap((s) => [statusProgress(s), statusProgress(s, 0), statusProgress(s, 7)]);

    // Assess
    expect(new Set(progress)).toEqual(new Set([TERMINAL_PROGRESS]));
    expect(TERMINAL_STATUSES).toEqual(['REJECTED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT']);
  });
});

describe('sanitizeReason', () => {
  it('replaces ARNs, which name the account and its resources, by <arn>', () => {
    const reason =
      'CannotPullContainerError: pull access denied for role arn:aws:iam::111122223333:role/team-exec, task arn:aws:ecs:eu-west-1:111122223333:task/cluster/0a1b2c3d (retry)';

    expect(sanitizeReason(reason)).toBe('CannotPullContainerError: pull access denied for role <arn>, task <arn> (retry)');
    expect(sanitizeReason('Essential container in task exited')).toBe('Essential container in task exited');
  });

  test('turns runs of control characters into one space and trims the ends', () => {
    // Prepare
    const reason = '\r\nCannotPullContainerError:\n\tpull access denied\u0000\u007ffor busybox\u001b[0m\n';

    // Act
    const line = sanitizeReason(reason);

    // Assess
    expect(line).toBe('CannotPullContainerError: pull access denied for busybox [0m');
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  test('keeps printable non-ASCII text as it is', () => {
    // Act & Assess
    expect(sanitizeReason('Datei nicht gefunden – ä/ö/ü ✓')).toBe('Datei nicht gefunden – ä/ö/ü ✓');
  });

  test('keeps a reason of exactly 1024 characters unchanged', () => {
    // Prepare
    const reason = 'x'.repeat(1024);

    // Act & Assess
    expect(sanitizeReason(reason)).toBe(reason);
  });

  test('cuts a longer reason to 1024 characters, ending with an ellipsis', () => {
    // Prepare
    const reason = `${'a'.repeat(1023)}${'b'.repeat(4000)}`;

    // Act
    const line = sanitizeReason(reason);

    // Assess
    expect(line).toHaveLength(1024);
    expect(line).toBe(`${'a'.repeat(1023)}…`);
  });

  test('does not cut a character made of two UTF-16 code units in half', () => {
    // Prepare: the emoji takes code units 1023 and 1024, right where the cut falls.
    const reason = `${'a'.repeat(1022)}😀 and more text after the cut`;

    // Act
    const line = sanitizeReason(reason);

    // Assess
    expect(line.length).toBeLessThanOrEqual(1024);
    expect(line.endsWith('…')).toBe(true);
    // A lone surrogate does not survive UTF-8 (what DynamoDB stores): it comes back as U+FFFD.
    expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line);
  });
});

describe('waitSecondsFor', () => {
  test('follows the default schedule: 30 s, x1.5 each poll rounded up, capped at 240 s', () => {
    // Act
    const waits = Array.from({ length: 9 }, (_, pollCount) => waitSecondsFor(pollCount, DEFAULT_POLLING));

    // Assess
    // 30, 45, 67.5, 101.25, 151.875, 227.8125, then the cap.
    expect(waits).toEqual([30, 45, 68, 102, 152, 228, 240, 240, 240]);
    expect(DEFAULT_POLLING).toEqual({ initialSeconds: 30, multiplier: 1.5, maxSeconds: 240 });
  });

  test('never waits past the deadline', () => {
    // Act & Assess
    expect(waitSecondsFor(6, DEFAULT_POLLING, 17)).toBe(17);
    expect(waitSecondsFor(0, DEFAULT_POLLING, 29)).toBe(29);
    expect(waitSecondsFor(0, DEFAULT_POLLING, 31)).toBe(30);
  });

  test.each([
    ['the deadline is now', 0],
    ['the deadline has passed', -120],
    ['less than a second is left', 0.4],
  ])('waits at least 1 s when %s, so the poll that ends the run still happens', (_label, secondsUntilDeadline) => {
    // Act & Assess
    expect(waitSecondsFor(3, DEFAULT_POLLING, secondsUntilDeadline)).toBe(1);
  });

  test('waits whole seconds, at least 1, with a sub-second or fractional schedule', () => {
    // Act & Assess
    expect(waitSecondsFor(0, { initialSeconds: 0.2, multiplier: 1, maxSeconds: 10 })).toBe(1);
    expect(waitSecondsFor(1, { initialSeconds: 10, multiplier: 1.25, maxSeconds: 60 })).toBe(13);
  });

  test('keeps a constant wait with multiplier 1', () => {
    // Act
    const waits = [0, 1, 10, 100].map((n) => waitSecondsFor(n, { initialSeconds: 60, multiplier: 1, maxSeconds: 300 }));

    // Assess
    expect(waits).toEqual([60, 60, 60, 60]);
  });
});

describe('isThrottling', () => {
  test.each(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'])(
    'recognizes an error named %s',
    (name) => {
      // Act & Assess
      expect(isThrottling({ name, message: 'slow down', $metadata: { httpStatusCode: 400 } })).toBe(true);
    },
  );

  test('recognizes any HTTP 429, whatever its name', () => {
    // Act & Assess
    expect(isThrottling({ name: 'SomethingNew', message: '', $metadata: { httpStatusCode: 429 } })).toBe(true);
  });

  test.each(['Too Many Requests.', 'Rate exceeded', 'too many requests for this account'])(
    'recognizes the ClientException Batch throttles with: "%s"',
    (message) => {
      // Act & Assess
      expect(isThrottling({ name: 'ClientException', message, $metadata: { httpStatusCode: 400 } })).toBe(true);
    },
  );

  test.each([
    ['a ClientException about a job definition', { name: 'ClientException', message: 'Job definition batch-gateway-sample does not exist.', $metadata: { httpStatusCode: 400 } }],
    ['a Batch ServerException', { name: 'ServerException', message: 'Internal error', $metadata: { httpStatusCode: 500 } }],
    ['a ConditionalCheckFailedException', { name: 'ConditionalCheckFailedException', message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }],
    ['a plain TypeError', new TypeError('x is undefined')],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'Throttling'],
  ])('does not count %s as throttling', (_label, err) => {
    // Act & Assess
    expect(isThrottling(err)).toBe(false);
  });
});

describe('surfaceAwsError', () => {
  test('turns a throttled call into ThrottledError, carrying the SDK error as cause', () => {
    // Prepare
    const sdkError = Object.assign(new Error('Too Many Requests.'), { name: 'ClientException', $metadata: { httpStatusCode: 400 } });

    // Act
    const err = caught(() => surfaceAwsError(sdkError, 'SubmitJob'));

    // Assess
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({ name: 'ThrottledError', message: 'SubmitJob throttled', cause: sdkError });
  });

  test('turns a Batch ServerException into BatchServerError (not the generic AwsServiceError)', () => {
    // Prepare
    const sdkError = new ServerException({ message: 'Internal Server Error', $metadata: { httpStatusCode: 500 } });

    // Act
    const err = caught(() => surfaceAwsError(sdkError, 'DescribeJobs'));

    // Assess
    expect(err).toBeInstanceOf(BatchServerError);
    expect(err).toMatchObject({ name: 'BatchServerError', message: 'DescribeJobs: Batch server error', cause: sdkError });
  });

  test('turns a DynamoDB InternalServerError (HTTP 500) into AwsServiceError', () => {
    // Prepare
    const sdkError = new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } });

    // Act
    const err = caught(() => surfaceAwsError(sdkError, 'UpdateItem'));

    // Assess
    expect(err).toBeInstanceOf(AwsServiceError);
    expect(err).toMatchObject({ name: 'AwsServiceError', message: 'UpdateItem: AWS service error (InternalServerError)', cause: sdkError });
  });

  test.each([
    ['ServiceUnavailable without a status', { name: 'ServiceUnavailable', message: 'Service Unavailable', $metadata: {} }],
    ['any 503', { name: 'UnknownError', message: '', $metadata: { httpStatusCode: 503 } }],
    ['any 502', { name: 'Error', message: 'Bad Gateway', $metadata: { httpStatusCode: 502 } }],
  ])('turns %s into AwsServiceError', (_label, sdkError) => {
    // Act & Assess
    expect(caught(() => surfaceAwsError(sdkError, 'GetItem'))).toBeInstanceOf(AwsServiceError);
  });

  test.each([
    ['a ClientException', Object.assign(new Error('Job queue does not exist'), { name: 'ClientException', $metadata: { httpStatusCode: 400 } })],
    ['a ConditionalCheckFailedException', new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } })],
    ['a non-AWS error', new TypeError('Cannot read properties of undefined')],
  ])('rethrows %s as it is', (_label, sdkError) => {
    // Act & Assess
    expect(caught(() => surfaceAwsError(sdkError, 'SubmitJob'))).toBe(sdkError);
  });

  test('names exactly the errors the state machine retries as transient', () => {
    // Assess
    expect(TASK_RETRY[1].ErrorEquals).toEqual([...TRANSIENT_ERROR_NAMES]);
    const retried = TASK_RETRY.flatMap((r) => [...r.ErrorEquals]);
    expect(retried).not.toContain('JobNotFoundError');
    expect(retried).not.toContain('InvalidInputError');
  });

  test.each([
    ['ThrottledError', ThrottledError],
    ['BatchServerError', BatchServerError],
    ['AwsServiceError', AwsServiceError],
    ['JobNotFoundError', JobNotFoundError],
    ['InvalidInputError', InvalidInputError],
  ])('%s sets its name and carries its cause', (name, ErrorClass) => {
    // Prepare
    const cause = new Error('root');

    // Act
    const err = new ErrorClass('boom', { cause });

    // Assess
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.cause).toBe(cause);
  });
});

describe('parseInput', () => {
  test('returns the submit input with defaults filled in and unknown item fields left out', () => {
    // Prepare
    const input = fixture('submit-input.json');
    const route = input.route as Record<string, unknown>;
    delete route.parameters;
    delete route.terminateOnTimeout;

    // Act
    const parsed = parseInput(submitInputSchema, input, 'submit-job');

    // Assess
    expect(parsed).toEqual({
      runRequestID: RUN_REQUEST_ID,
      processname: 'sample',
      parameters: { inputKey: 's3://acme-input/2024-06-10/batch-17.csv', mode: 'full' },
      route: {
        type: 'batch',
        completion: 'events',
        name: 'sample',
        jobQueue: 'arn:aws:batch:us-east-1:123456789012:job-queue/batch-gateway-default',
        jobDefinition: 'batch-gateway-sample',
        parameters: {},
        maxRunTimeSeconds: 3600,
        terminateOnTimeout: false,
        polling: { initialSeconds: 30, multiplier: 1.5, maxSeconds: 240 },
      },
    });
  });

  test('throws InvalidInputError naming the missing path and what was expected', () => {
    // Prepare
    const input = fixture('submit-input.json');
    delete (input.route as Record<string, unknown>).jobQueue;

    // Act
    const err = caught(() => parseInput(submitInputSchema, input, 'submit-job'));

    // Assess
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).name).toBe('InvalidInputError');
    expect((err as Error).message).toBe('submit-job: invalid input: route.jobQueue: expected string');
  });

  test('names every bad path at once', () => {
    // Prepare
    const input = fixture('submit-input.json');
    input.runRequestID = '';
    (input.route as Record<string, unknown>).maxRunTimeSeconds = 1.5;
    (input.parameters as Record<string, unknown>).retries = 3;

    // Act
    const err = caught(() => parseInput(submitInputSchema, input, 'submit-job')) as Error;

    // Assess
    expect(err.message).toMatch(/^submit-job: invalid input: /);
    expect(err.message).toContain('runRequestID: must be >= 1');
    expect(err.message).toContain('route.maxRunTimeSeconds: expected int');
    expect(err.message).toContain('parameters.retries: expected string');
  });

  test('names the job fields of a poll input, including an unknown status', () => {
    // Prepare
    const input = {
      ...fixture('submit-input.json'),
      job: { jobId: 'j', jobName: 'n', status: 'DONE', submittedAtEpochS: 1, deadlineEpochS: 2, pollCount: 0, waitSeconds: 0 },
    };

    // Act
    const err = caught(() => parseInput(pollInputSchema, input, 'poll-job')) as Error;

    // Assess
    expect(err.message).toContain(`job.status: must be one of ${RUN_REQUEST_STATUSES.join(', ')}`);
    expect(err.message).toContain('job.waitSeconds: must be >= 1');
  });

  test('says "(input)" when the input is not an object at all', () => {
    // Act & Assess
    expect(() => parseInput(submitInputSchema, null, 'submit-job')).toThrow('submit-job: invalid input: (input): expected object');
  });
});

describe('recordStatus', () => {
  test('writes an in-flight status with its progress, history entry and reason, under the progress condition', async () => {
    // Act
    const recorded = await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNABLE', attempt: 1, reason: 'waiting for capacity' }, storeDeps());

    // Assess
    expect(recorded).toBe(true);
    const { input, values } = sentUpdate();
    expect(input).toEqual({
      TableName: TABLE_NAME,
      Key: { runRequestID: { S: RUN_REQUEST_ID } },
      UpdateExpression: `${BASE_SET}, reason = :reason`,
      ConditionExpression: BASE_CONDITION,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: expect.any(Object),
    });
    expect(values).toEqual({
      ':status': 'RUNNABLE',
      ':progress': 13,
      ':at': NOW_ISO,
      ':entry': [{ status: 'RUNNABLE', at: NOW_ISO, reason: 'waiting for capacity' }],
      ':empty': [],
      ':reason': 'waiting for capacity',
    });
  });

  test('removes the previous reason when the new status has none', async () => {
    // Act
    await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING' }, storeDeps());

    // Assess
    const { input, values } = sentUpdate();
    expect(input.UpdateExpression).toBe(`${BASE_SET} REMOVE reason`);
    expect(values).not.toHaveProperty(':reason');
    expect(values[':entry']).toEqual([{ status: 'RUNNING', at: NOW_ISO }]);
  });

  test('sets the TTL in epoch seconds only for a terminal status, and keeps exit code 0', async () => {
    // Act
    await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'SUCCEEDED', attempt: 1, exitCode: 0 }, storeDeps());

    // Assess
    const { input, values } = sentUpdate();
    expect(input.UpdateExpression).toBe(`${BASE_SET}, exitCode = :exitCode, expiresAt = :expiresAt REMOVE reason`);
    expect(values[':progress']).toBe(TERMINAL_PROGRESS);
    expect(values[':exitCode']).toBe(0);
    expect(values[':expiresAt']).toBe(NOW_S + 90 * 86400);
    expect(values[':expiresAt']).toBeLessThan(1e11);
  });

  test.each(['SUBMITTED', 'RUNNABLE', 'RUNNING'] as const)('sets no TTL for the in-flight status %s', async (status) => {
    // Act
    await recordStatus({ runRequestID: RUN_REQUEST_ID, status }, storeDeps());

    // Assess
    const { input, values } = sentUpdate();
    expect(input.UpdateExpression).not.toContain('expiresAt');
    expect(values).not.toHaveProperty(':expiresAt');
  });

  test('writes the job fields given, and adds the jobId condition when asked', async () => {
    // Act
    await recordStatus(
      { runRequestID: RUN_REQUEST_ID, status: 'SUBMITTED', jobId: 'job-1', jobName: 'sample-x', submittedAtEpochS: NOW_S },
      storeDeps(),
      { unsetOr: 'job-1' },
    );

    // Assess
    const { input, values } = sentUpdate();
    expect(input.UpdateExpression).toBe(`${BASE_SET}, jobId = :jobId, jobName = :jobName, submittedAtEpochS = :submittedAtEpochS REMOVE reason`);
    expect(input.ConditionExpression).toBe(`${BASE_CONDITION} AND (attribute_not_exists(jobId) OR jobId = :expectedJobId)`);
    expect(values).toMatchObject({ ':jobId': 'job-1', ':jobName': 'sample-x', ':submittedAtEpochS': NOW_S, ':expectedJobId': 'job-1', ':progress': 1 });
  });

  test("requires exactly the recorded job for a job's own event", async () => {
    await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING', attempt: 1 }, storeDeps(), { is: 'job-1' });

    const { input, values } = sentUpdate();
    expect(input.ConditionExpression).toBe(`${BASE_CONDITION} AND jobId = :expectedJobId`);
    expect(values[':expectedJobId']).toBe('job-1');
  });

  test('stores a sanitized reason, in the item and in the history entry', async () => {
    // Act
    await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'FAILED', reason: 'line one\nline two\u0000' }, storeDeps());

    // Assess
    const { values } = sentUpdate();
    expect(values[':reason']).toBe('line one line two');
    expect(values[':entry']).toEqual([{ status: 'FAILED', at: NOW_ISO, reason: 'line one line two' }]);
  });

  test('returns false, without throwing, when the condition refuses the write', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const recorded = await recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING' }, storeDeps());

    // Assess
    expect(recorded).toBe(false);
  });

  test('also recognizes ConditionalCheckFailedException by name (an error from another SDK copy)', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));

    // Act & Assess
    await expect(recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING' }, storeDeps())).resolves.toBe(false);
  });

  test('throws ThrottledError when the table is still throttled after the SDK retries', async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: 'Throughput exceeds the current capacity', $metadata: { httpStatusCode: 400 } });
    ddbMock.on(UpdateItemCommand).rejects(throttled);

    // Act
    const result = recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING' }, storeDeps());

    // Assess
    await expect(result).rejects.toThrow(ThrottledError);
    await expect(result).rejects.toMatchObject({ message: 'UpdateItem throttled', cause: throttled });
  });

  test('throws AwsServiceError on a DynamoDB 500', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).rejects(new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }));

    // Act & Assess
    await expect(recordStatus({ runRequestID: RUN_REQUEST_ID, status: 'RUNNING' }, storeDeps())).rejects.toThrow(AwsServiceError);
  });
});

describe('surfaceAwsError on requests that got no HTTP answer', () => {
  it.each([
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    [Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' })],
  ])('turns %s into a retried AwsServiceError', (err) => {
    expect(isNetworkError(err)).toBe(true);
    expect(() => surfaceAwsError(err, 'DescribeJobs')).toThrow(expect.objectContaining({ name: 'AwsServiceError', cause: err }));
  });

  it('leaves an answered request alone', () => {
    const answered = Object.assign(new Error('Timeout'), { name: 'TimeoutError', $metadata: { httpStatusCode: 400 } });

    expect(isNetworkError(answered)).toBe(false);
  });
});
