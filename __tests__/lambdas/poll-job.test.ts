import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchClient,
  ClientException,
  DescribeJobsCommand,
  type DescribeJobsCommandOutput,
  type JobDetail,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidInputError, JobNotFoundError, ThrottledError } from '../../lambdas/shared/aws-errors';
import { logger } from '../../lambdas/shared/logger';
import { JobState, PollInput, pollInputSchema } from '../../contract';
import { parseInput } from '../../lambdas/shared/parse-input';
import { statusProgress, TERMINAL_PROGRESS } from '../../lambdas/shared/run-requests-table';
import { pollJob, PollJobDeps } from '../../lambdas/poll-job/core';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'orchestration');
/** A fresh copy each time, so a test can change it without affecting the others. */
function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

const TABLE_NAME = 'batch-gateway-run-requests';
const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
const JOB_NAME = `sample-${RUN_REQUEST_ID}`;
const JOB_ID = '8f2c1d3e-5a6b-4c7d-9e0f-1a2b3c4d5e6f';
const SUBMITTED_AT_S = 1718000405;
const MAX_RUN_TIME_S = 3600;
const DEADLINE_S = SUBMITTED_AT_S + MAX_RUN_TIME_S;
// 2024-06-10T06:28:20.250Z: mid-run, with a fractional second so flooring to epoch seconds shows.
const NOW_MS = 1718000900250;
const NOW_S = 1718000900;
const RETENTION_DAYS = 90;
const CONDITION = 'attribute_exists(runRequestID) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)';
const OOM_REASON = 'Essential container in task exited: OutOfMemoryError: Container killed due to memory usage';

const ddbMock = mockClient(DynamoDBClient);
const batchMock = mockClient(BatchClient);

/** The job state submit-job returned, as the state machine keeps it at `$.job`. */
function submittedJob(): JobState {
  return {
    jobId: JOB_ID,
    jobName: JOB_NAME,
    status: 'SUBMITTED',
    submittedAtEpochS: SUBMITTED_AT_S,
    deadlineEpochS: DEADLINE_S,
    pollCount: 0,
    waitSeconds: 30,
    attempts: 0,
    alreadySubmitted: false,
  };
}

/** The raw execution state at `Poll job`: the run request, its route (polling alone unless told) and the job so far. */
function pollEvent(job: Partial<JobState> = {}, route: Record<string, unknown> = {}): Record<string, any> {
  const state = fixture<Record<string, any>>('submit-input.json');
  state.route = { ...state.route, completion: 'poll', ...route };
  // Through JSON, as Step Functions passes it: undefined fields disappear.
  state.job = JSON.parse(JSON.stringify({ ...submittedJob(), ...job }));
  return state;
}

function pollInput(job: Partial<JobState> = {}, route: Record<string, unknown> = {}): PollInput {
  return parseInput(pollInputSchema, pollEvent(job, route), 'test');
}

function deps(nowMs = NOW_MS): PollJobDeps {
  return { ddb: new DynamoDBClient({}), batch: new BatchClient({}), tableName: TABLE_NAME, finishedRetentionDays: RETENTION_DAYS, now: () => nowMs };
}

/** A DescribeJobs answer from a fixture, optionally changed. */
function described(name: string, change: (job: JobDetail) => void = () => undefined): DescribeJobsCommandOutput {
  const out = fixture<DescribeJobsCommandOutput>(`describe-jobs.${name}.json`);
  change(out.jobs![0]);
  return out;
}

/** The attempt that failed to start in the FAILED fixture: what a job retried by Batch carries. */
function failedFirstAttempt() {
  return described('failed').jobs![0].attempts![0];
}

/** The runnable fixture moved on to `status` with `attempts` finished attempts. */
function inFlight(status: JobDetail['status'], attempts = 0): DescribeJobsCommandOutput {
  return described('runnable', (job) => {
    job.status = status;
    job.attempts = Array.from({ length: attempts }, failedFirstAttempt);
    if (status === 'RUNNING') job.startedAt = 1718000602114;
  });
}

function sentUpdates() {
  return ddbMock.commandCalls(UpdateItemCommand).map((call) => {
    const input = call.args[0].input;
    return { input, values: unmarshall(input.ExpressionAttributeValues!) };
  });
}

beforeEach(() => {
  ddbMock.reset();
  batchMock.reset();
  ddbMock.on(UpdateItemCommand).resolves({});
  batchMock.on(DescribeJobsCommand).resolves(described('runnable'));
  batchMock.on(TerminateJobCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('pollJob: a job still in flight', () => {
  test('records nothing when the status is unchanged, counts the poll and waits longer', async () => {
    // Prepare
    const input = pollInput({ status: 'RUNNABLE', pollCount: 2, waitSeconds: 68 });

    // Act
    const job = await pollJob(input, deps());

    // Assess
    expect(batchMock.commandCalls(DescribeJobsCommand).map((c) => c.args[0].input)).toEqual([{ jobs: [JOB_ID] }]);
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'RUNNABLE',
      submittedAtEpochS: SUBMITTED_AT_S,
      deadlineEpochS: DEADLINE_S,
      pollCount: 3,
      // 30 * 1.5^3 = 101.25
      waitSeconds: 102,
      attempts: 0,
    });
  });

  test("waits longer from poll to poll along the route's schedule, up to its cap", async () => {
    // Prepare
    let state = pollEvent({ status: 'RUNNABLE' });
    const waits: number[] = [];

    // Act
    for (let poll = 0; poll < 8; poll++) {
      const job = await pollJob(parseInput(pollInputSchema, state, 'test'), deps());
      waits.push(job.waitSeconds);
      state = { ...state, job: JSON.parse(JSON.stringify(job)) };
    }

    // Assess
    expect(waits).toEqual([45, 68, 102, 152, 228, 240, 240, 240]);
    expect(state.job.pollCount).toBe(8);
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  test('records a status change once, with its progress and without a TTL', async () => {
    // Prepare
    const input = pollInput({ status: 'SUBMITTED' });

    // Act
    const job = await pollJob(input, deps());

    // Assess
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input).toMatchObject({
      TableName: TABLE_NAME,
      Key: { runRequestID: { S: RUN_REQUEST_ID } },
      ConditionExpression: CONDITION,
    });
    // The RUNNABLE job has no statusReason: the SUBMITTED one's is removed.
    expect(updates[0].input.UpdateExpression).toMatch(/ REMOVE reason$/);
    expect(updates[0].values).toEqual({
      ':status': 'RUNNABLE',
      ':progress': 3,
      ':at': '2024-06-10T06:28:20.250Z',
      ':entry': [{ status: 'RUNNABLE', at: '2024-06-10T06:28:20.250Z' }],
      ':empty': [],
    });
    expect(job).toMatchObject({ status: 'RUNNABLE', pollCount: 1, waitSeconds: 45, attempts: 0 });
  });

  test.each([
    ['STARTING', 0, 4],
    ['RUNNING', 0, 5],
    ['RUNNING', 1, 15],
    ['STARTING', 2, 24],
  ] as const)('records %s after %i finished attempts with progress %i (attempt * 10 + rank)', async (status, attempts, progress) => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight(status, attempts));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNABLE' }), deps());

    // Assess
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].values).toMatchObject({ ':status': status, ':progress': progress });
    expect(job).toMatchObject({ status, attempts });
  });

  test("records the retried attempt's RUNNABLE after the first attempt's RUNNING (progress 13 > 5)", async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNABLE', 1));
    const input = pollInput({ status: 'RUNNING', attempts: 0, pollCount: 3 });

    // Act
    const job = await pollJob(input, deps());

    // Assess
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].values).toMatchObject({ ':status': 'RUNNABLE', ':progress': 13 });
    expect(updates[0].values[':progress']).toBeGreaterThan(statusProgress('RUNNING', 0));
    expect(updates[0].input.ConditionExpression).toBe(CONDITION);
    expect(job).toMatchObject({ status: 'RUNNABLE', attempts: 1, pollCount: 4 });
  });

  test('records a new attempt even when the status looks unchanged between two polls', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING', 1));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING', attempts: 0 }), deps());

    // Assess
    expect(sentUpdates().map((u) => u.values[':progress'])).toEqual([15]);
    expect(job.attempts).toBe(1);
  });

  test("records Batch's statusReason of an in-flight status", async () => {
    // Prepare
    const reason = 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.';
    batchMock.on(DescribeJobsCommand).resolves(described('runnable', (job) => (job.statusReason = reason)));

    // Act
    const job = await pollJob(pollInput({ status: 'SUBMITTED' }), deps());

    // Assess
    expect(sentUpdates()[0].values).toMatchObject({ ':status': 'RUNNABLE', ':reason': reason });
    expect(job.reason).toBe(reason);
  });
});

describe('pollJob: a finished job', () => {
  test('records SUCCEEDED with the exit code and a TTL in epoch seconds', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(described('succeeded'));
    const input = pollInput({ status: 'RUNNING', pollCount: 5 });

    // Act
    const job = await pollJob(input, deps());

    // Assess
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input.UpdateExpression).toBe(
      'SET #status = :status, statusProgress = :progress, updatedAt = :at, statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry),' +
        ' exitCode = :exitCode, expiresAt = :expiresAt REMOVE reason',
    );
    expect(updates[0].input.ConditionExpression).toBe(CONDITION);
    expect(updates[0].values).toMatchObject({ ':status': 'SUCCEEDED', ':progress': TERMINAL_PROGRESS, ':exitCode': 0 });
    const expiresAt = updates[0].values[':expiresAt'] as number;
    expect(expiresAt).toBe(NOW_S + RETENTION_DAYS * 86400);
    // Epoch seconds, not milliseconds: DynamoDB TTL ignores a value in milliseconds.
    expect(expiresAt).toBeLessThan(1e11);
    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'SUCCEEDED',
      submittedAtEpochS: SUBMITTED_AT_S,
      deadlineEpochS: DEADLINE_S,
      pollCount: 6,
      waitSeconds: 1,
      attempts: 1,
      exitCode: 0,
    });
  });

  test("records FAILED with Batch's reason, the last attempt's container reason and exit code", async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(described('failed'));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING', attempts: 1 }), deps());

    // Assess
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].values).toMatchObject({
      ':status': 'FAILED',
      ':progress': TERMINAL_PROGRESS,
      ':reason': OOM_REASON,
      ':exitCode': 137,
      ':expiresAt': NOW_S + RETENTION_DAYS * 86400,
      ':entry': [{ status: 'FAILED', at: '2024-06-10T06:28:20.250Z', reason: OOM_REASON }],
    });
    expect(job).toMatchObject({ status: 'FAILED', reason: OOM_REASON, exitCode: 137, attempts: 2, waitSeconds: 1 });
  });

  test('shows no ARN of the account to the client: Batch reasons can name roles and tasks', async () => {
    // Prepare
    const job = described('failed').jobs![0];
    job.statusReason = 'Task failed to start';
    job.attempts![job.attempts!.length - 1].container!.reason = 'CannotPullContainerError: access denied for arn:aws:iam::123456789012:role/secret-team-exec';
    batchMock.on(DescribeJobsCommand).resolves({ jobs: [job] });

    // Act
    const polled = await pollJob(pollInput({ status: 'RUNNING', attempts: 1 }), deps());

    // Assess
    const expected = 'Task failed to start: CannotPullContainerError: access denied for <arn>';
    expect(polled.reason).toBe(expected);
    expect(sentUpdates()[0].values[':reason']).toBe(expected);
  });

  test.each([
    [
      'Batch gives only a statusReason (cancelled before any attempt)',
      (job: JobDetail) => {
        job.statusReason = 'Dependent Job failed';
        job.attempts = [];
        delete job.container!.reason;
        delete job.container!.exitCode;
      },
      'Dependent Job failed',
      undefined,
    ],
    [
      'nothing says why',
      (job: JobDetail) => {
        delete job.statusReason;
        job.attempts = [];
        delete job.container!.reason;
        delete job.container!.exitCode;
      },
      'the job failed',
      undefined,
    ],
    [
      'the container reason repeats the statusReason',
      (job: JobDetail) => {
        job.statusReason = 'Task failed to start';
        job.attempts![1].container!.reason = 'Task failed to start';
      },
      'Task failed to start',
      137,
    ],
    [
      'the job has no attempts but its container has an exit code',
      (job: JobDetail) => {
        job.attempts = [];
        job.container!.exitCode = 2;
        job.container!.reason = 'bad input';
      },
      'Essential container in task exited: bad input',
      2,
    ],
  ])('records a FAILED reason and exit code when %s', async (_label, change, reason, exitCode) => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(described('failed', change));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING' }), deps());

    // Assess
    const { values } = sentUpdates()[0];
    expect(values[':reason']).toBe(reason);
    expect(values[':exitCode']).toBe(exitCode);
    expect(job.reason).toBe(reason);
    expect(job.exitCode).toBe(exitCode);
  });
});

describe('pollJob: errors', () => {
  test.each([
    ['an empty list', { jobs: [] }],
    ['another job only', { jobs: [{ ...described('runnable').jobs![0], jobId: 'd41e7b2a-93c5-4f08-b6a1-7e5c2d9f0a13' }] }],
  ])('throws JobNotFoundError when DescribeJobs returns %s', async (_label, answer) => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(answer as DescribeJobsCommandOutput);

    // Act
    const result = pollJob(pollInput(), deps());

    // Assess
    await expect(result).rejects.toThrow(JobNotFoundError);
    await expect(result).rejects.toMatchObject({ name: 'JobNotFoundError', message: `Batch knows no job ${JOB_ID}` });
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  test('throws ThrottledError when DescribeJobs is throttled', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).rejects(new ClientException({ message: 'Too Many Requests.', $metadata: { httpStatusCode: 400 } }));

    // Act & Assess
    await expect(pollJob(pollInput(), deps())).rejects.toThrow(ThrottledError);
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });
});

describe('pollJob: the deadline', () => {
  const timeoutReason = `maximum run time of ${MAX_RUN_TIME_S} s exceeded while RUNNING`;

  test.each([
    ['reached', DEADLINE_S * 1000],
    ['passed', DEADLINE_S * 1000 + 95_000],
  ])('records TIMED_OUT, without terminating the job by default, once the deadline is %s', async (_label, nowMs) => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING'));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING', pollCount: 20 }), deps(nowMs));

    // Assess
    expect(batchMock.commandCalls(TerminateJobCommand)).toHaveLength(0);
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].values).toMatchObject({
      ':status': 'TIMED_OUT',
      ':progress': TERMINAL_PROGRESS,
      ':reason': timeoutReason,
      ':expiresAt': Math.floor(nowMs / 1000) + RETENTION_DAYS * 86400,
    });
    expect(job).toMatchObject({ status: 'TIMED_OUT', reason: timeoutReason, waitSeconds: 1, pollCount: 21 });
  });

  test('terminates the job before recording TIMED_OUT when the route says so', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING'));
    const input = pollInput({ status: 'RUNNING' }, { terminateOnTimeout: true });

    // Act
    const job = await pollJob(input, deps(DEADLINE_S * 1000 + 1_000));

    // Assess
    const terminations = batchMock.commandCalls(TerminateJobCommand);
    expect(terminations).toHaveLength(1);
    expect(terminations[0].args[0].input).toEqual({ jobId: JOB_ID, reason: `batch-gateway: ${timeoutReason}` });
    const update = ddbMock.commandCalls(UpdateItemCommand)[0];
    expect(terminations[0].calledBefore(update)).toBe(true);
    expect(job.status).toBe('TIMED_OUT');
  });

  test('throws ThrottledError, recording nothing yet, when TerminateJob is throttled', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING'));
    batchMock.on(TerminateJobCommand).rejects(new ClientException({ message: 'Too Many Requests.', $metadata: { httpStatusCode: 400 } }));
    const input = pollInput({ status: 'RUNNING' }, { terminateOnTimeout: true });

    // Act & Assess
    await expect(pollJob(input, deps(DEADLINE_S * 1000 + 1_000))).rejects.toThrow(ThrottledError);
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  test('records an outcome Batch reports after the deadline as it is, not as TIMED_OUT', async () => {
    // Prepare
    batchMock.on(DescribeJobsCommand).resolves(described('succeeded'));
    const input = pollInput({ status: 'RUNNING' }, { terminateOnTimeout: true });

    // Act
    const job = await pollJob(input, deps(DEADLINE_S * 1000 + 60_000));

    // Assess
    expect(batchMock.commandCalls(TerminateJobCommand)).toHaveLength(0);
    expect(sentUpdates()[0].values[':status']).toBe('SUCCEEDED');
    expect(job.status).toBe('SUCCEEDED');
  });

  test('waits only until the deadline when the next wait would run past it', async () => {
    // Prepare: the next wait would be 240 s, 17 s are left.
    const input = pollInput({ status: 'RUNNABLE', pollCount: 6 });

    // Act
    const job = await pollJob(input, deps((DEADLINE_S - 17) * 1000));

    // Assess
    expect(job.waitSeconds).toBe(17);
  });

  test('never waits longer than the time left, whatever the poll count', async () => {
    // Prepare
    const secondsLeft = [1, 2, 29, 30, 31, 44, 46, 100, 239, 241, 1000];
    const tooLong: string[] = [];

    // Act
    for (const left of secondsLeft) {
      for (let pollCount = 0; pollCount < 9; pollCount++) {
        const job = await pollJob(pollInput({ status: 'RUNNABLE', pollCount }), deps((DEADLINE_S - left) * 1000));
        if (job.waitSeconds > left) tooLong.push(`${left} s left, poll ${pollCount}: waits ${job.waitSeconds} s`);
      }
    }

    // Assess
    expect(tooLong).toEqual([]);
  });
});

describe('handler', () => {
  const ENV_TABLE = 'batch-gateway-test-run-requests';
  const saved = { ...process.env };


  /** Loaded after the environment is set: the handler reads it from its module scope on first use. */
  function loadHandler(): typeof import('../../lambdas/poll-job/handler').handler {
    return (require('../../lambdas/poll-job/handler') as typeof import('../../lambdas/poll-job/handler')).handler;
  }

  beforeAll(() => {
    process.env.TABLE_NAME = ENV_TABLE;
    process.env.FINISHED_RETENTION_DAYS = '30';
  });

  afterAll(() => {
    process.env = saved;
  });

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  test('polls the job of the execution state it is given, records the change and returns the next state', async () => {
    // Prepare
    const handler = loadHandler();
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING'));

    // Act
    const job = await handler(pollEvent({ status: 'SUBMITTED' }), lambdaContext('batch-gateway-poll-job'));

    // Assess
    expect(batchMock.commandCalls(DescribeJobsCommand).map((c) => c.args[0].input)).toEqual([{ jobs: [JOB_ID] }]);
    const updates = sentUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input.TableName).toBe(ENV_TABLE);
    expect(updates[0].values).toMatchObject({ ':status': 'RUNNING', ':progress': 5, ':at': '2024-06-10T06:28:20.250Z' });
    expect(job).toMatchObject({ jobId: JOB_ID, status: 'RUNNING', pollCount: 1, waitSeconds: 45 });
    expect(logger.info).toHaveBeenCalledWith('Job polled', { status: 'RUNNING', pollCount: 1, waitSeconds: 45 });
  });

  test('records the TTL from FINISHED_RETENTION_DAYS', async () => {
    // Prepare
    const handler = loadHandler();
    batchMock.on(DescribeJobsCommand).resolves(described('succeeded'));

    // Act
    await handler(pollEvent({ status: 'RUNNING' }), lambdaContext('batch-gateway-poll-job'));

    // Assess
    expect(sentUpdates()[0].values[':expiresAt']).toBe(NOW_S + 30 * 86400);
  });

  test('rejects a state without a job with InvalidInputError naming `job`, before any AWS call', async () => {
    // Prepare
    const handler = loadHandler();
    const event = pollEvent();
    delete event.job;

    // Act & Assess
    await expect(handler(event, lambdaContext('batch-gateway-poll-job'))).rejects.toThrow(InvalidInputError);
    await expect(handler(event, lambdaContext('batch-gateway-poll-job'))).rejects.toThrow(/poll-job: invalid input: job: expected object/);
    expect(batchMock.calls()).toHaveLength(0);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  test('logs and rethrows JobNotFoundError', async () => {
    // Prepare
    const handler = loadHandler();
    batchMock.on(DescribeJobsCommand).resolves({ jobs: [] });

    // Act & Assess
    await expect(handler(pollEvent(), lambdaContext('batch-gateway-poll-job'))).rejects.toThrow(JobNotFoundError);
    expect(logger.error).toHaveBeenCalledWith('Poll failed', { error: expect.any(JobNotFoundError) });
  });
});

describe('pollJob: the safety net of a route that completes by events', () => {
  const events = { completion: 'events' };

  test("returns the job's end an event recorded, without asking Batch", async () => {
    // Prepare: the event recorded FAILED; its wake-up was lost.
    ddbMock.on(GetItemCommand).resolves({ Item: marshall({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, jobName: JOB_NAME, status: 'FAILED', reason: OOM_REASON, exitCode: 137, submittedAtEpochS: SUBMITTED_AT_S, deadlineEpochS: DEADLINE_S }) });

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING', pollCount: 1 }, events), deps());

    // Assess
    expect(batchMock.commandCalls(DescribeJobsCommand)).toHaveLength(0);
    expect(sentUpdates()).toHaveLength(0);
    expect(job).toMatchObject({ jobId: JOB_ID, status: 'FAILED', reason: OOM_REASON, exitCode: 137, deadlineEpochS: DEADLINE_S, pollCount: 2 });
    expect(ddbMock.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true });
  });

  test('asks Batch when no event has settled the job, and records what it says', async () => {
    // Prepare: an event recorded RUNNING; the end's event is lost.
    ddbMock.on(GetItemCommand).resolves({ Item: marshall({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, status: 'RUNNING' }) });
    batchMock.on(DescribeJobsCommand).resolves(described('succeeded'));

    // Act
    const job = await pollJob(pollInput({ status: 'RUNNING', pollCount: 1 }, events), deps());

    // Assess
    expect(batchMock.commandCalls(DescribeJobsCommand)).toHaveLength(1);
    expect(job.status).toBe('SUCCEEDED');
    expect(sentUpdates()[0].values[':status']).toBe('SUCCEEDED');
  });

  test('asks Batch when the recorded end is of another job', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: marshall({ runRequestID: RUN_REQUEST_ID, jobId: 'another-job', status: 'SUCCEEDED' }) });
    batchMock.on(DescribeJobsCommand).resolves(inFlight('RUNNING'));

    const job = await pollJob(pollInput({ status: 'RUNNABLE' }, events), deps());

    expect(batchMock.commandCalls(DescribeJobsCommand)).toHaveLength(1);
    expect(job.status).toBe('RUNNING');
  });
});
