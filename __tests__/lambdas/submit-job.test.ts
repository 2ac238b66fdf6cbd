import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchClient,
  ClientException,
  ListJobsCommand,
  type ListJobsCommandOutput,
  ServerException,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsServiceError, BatchServerError, InvalidInputError, ThrottledError } from '../../lambdas/shared/aws-errors';
import { logger } from '../../lambdas/shared/logger';
import { ROUTE_NAME_PATTERN, SubmitInput, submitInputSchema, TRANSIENT_ERROR_NAMES } from '../../contract';
import { runRequestIDOfJobName } from '../../lambdas/shared/batch-job';
import { parseInput } from '../../lambdas/shared/parse-input';
import { jobNameFor, submitJob, SubmitJobDeps } from '../../lambdas/submit-job/core';
import Ajv from 'ajv';
import { RUN_REQUEST_LIMITS } from '../../contract';
import { RUN_REQUEST_BODY_SCHEMA } from '../../modules/api-ingest/request-model';
import { worstCaseSubmitJobBytes } from '../../modules/orchestration/limits';
import { AWS_LIMITS } from '../../modules/shared/limits';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'orchestration');
/** A fresh copy each time, so a test can change it without affecting the others. */
function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

const TABLE_NAME = 'batch-gateway-run-requests';
const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
const JOB_NAME = `sample-${RUN_REQUEST_ID}`;
const JOB_QUEUE = 'arn:aws:batch:us-east-1:123456789012:job-queue/batch-gateway-default';
const JOB_ID = '8f2c1d3e-5a6b-4c7d-9e0f-1a2b3c4d5e6f';
const OTHER_JOB_ID = 'd41e7b2a-93c5-4f08-b6a1-7e5c2d9f0a13';
// 2024-06-10T06:21:07.300Z: about a minute after the request arrived.
const NOW_MS = 1718000467300;
const NOW_S = 1718000467;
const MAX_RUN_TIME_S = 3600;
const VALID_JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const ddbMock = mockClient(DynamoDBClient);
const batchMock = mockClient(BatchClient);

/** The submit input as the handler hands it to the core (parsed, defaults applied). */
function submitInput(change: (raw: Record<string, any>) => void = () => undefined): SubmitInput {
  const raw = fixture<Record<string, any>>('submit-input.json');
  change(raw);
  return parseInput(submitInputSchema, raw, 'test');
}

function deps(): SubmitJobDeps {
  return {
    ddb: new DynamoDBClient({}),
    batch: new BatchClient({}),
    tableName: TABLE_NAME,
    finishedRetentionDays: 90,
    now: () => NOW_MS,
  };
}

/** GetItem's answer for an item (with the projection submit-job asks for). */
function itemWith(attributes: Record<string, unknown>) {
  return { Item: marshall({ status: 'ACCEPTED', ...attributes }) };
}

function expectedSubmit() {
  return {
    jobName: JOB_NAME,
    jobQueue: JOB_QUEUE,
    jobDefinition: 'batch-gateway-sample',
    // Route defaults { mode: incremental, verbosity: info } overridden by the request's { inputKey, mode: full }.
    parameters: { mode: 'full', verbosity: 'info', inputKey: 's3://acme-input/2024-06-10/batch-17.csv' },
    tags: { runRequestID: RUN_REQUEST_ID, route: 'sample', 'batch-gateway:job-queue': JOB_QUEUE },
    propagateTags: true,
  };
}

function sentUpdates() {
  return ddbMock.commandCalls(UpdateItemCommand).map((call) => {
    const input = call.args[0].input;
    return { input, values: unmarshall(input.ExpressionAttributeValues!) };
  });
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
}

const INTENT = { UpdateExpression: 'SET submitIntentAt = :at, jobName = :jobName' };

/** A later attempt: the intent was recorded before (or the job itself), and the item reads as `attributes`. */
function laterAttempt(attributes: Record<string, unknown>): void {
  ddbMock.on(UpdateItemCommand, INTENT).rejects(conditionFailed());
  ddbMock.on(GetItemCommand).resolves(itemWith({ submitIntentAt: '2024-06-10T06:20:05.000Z', ...attributes }));
}

/** The status writes, without the intent's. */
function statusUpdates() {
  return sentUpdates().filter((u) => u.input.UpdateExpression !== INTENT.UpdateExpression);
}

beforeEach(() => {
  ddbMock.reset();
  batchMock.reset();
  ddbMock.on(GetItemCommand).resolves(itemWith({}));
  ddbMock.on(UpdateItemCommand).resolves({});
  batchMock.on(ListJobsCommand).resolves({ jobSummaryList: [] });
  batchMock.on(SubmitJobCommand).resolves({ jobArn: `arn:aws:batch:us-east-1:123456789012:job/${JOB_ID}`, jobName: JOB_NAME, jobId: JOB_ID });
  batchMock.on(TerminateJobCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('submitJob', () => {
  test('submits the job once, named after the request, and records its id under the jobId and progress conditions', async () => {
    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess: one Batch call, and no read: the intent is recorded, then the job.
    expect(batchMock.calls()).toHaveLength(1);
    expect(ddbMock.commandCalls(GetItemCommand)).toHaveLength(0);
    const submits = batchMock.commandCalls(SubmitJobCommand);
    expect(submits).toHaveLength(1);
    expect(submits[0].args[0].input).toEqual(expectedSubmit());

    const [intent, ...updates] = sentUpdates();
    expect(intent.input).toMatchObject({
      ...INTENT,
      Key: { runRequestID: { S: RUN_REQUEST_ID } },
      ConditionExpression: 'attribute_exists(runRequestID) AND attribute_not_exists(jobId) AND attribute_not_exists(submitIntentAt)',
    });
    expect(intent.values).toEqual({ ':at': '2024-06-10T06:21:07.300Z', ':jobName': JOB_NAME });
    expect(updates).toHaveLength(1);
    expect(updates[0].input.TableName).toBe(TABLE_NAME);
    expect(updates[0].input.Key).toEqual({ runRequestID: { S: RUN_REQUEST_ID } });
    expect(updates[0].input.ConditionExpression).toBe(
      'attribute_exists(runRequestID) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)' +
        ' AND (attribute_not_exists(jobId) OR jobId = :expectedJobId)',
    );
    expect(updates[0].values).toMatchObject({
      ':status': 'SUBMITTED',
      ':progress': 1,
      ':jobId': JOB_ID,
      ':jobName': JOB_NAME,
      ':submittedAtEpochS': NOW_S,
      ':deadlineEpochS': NOW_S + MAX_RUN_TIME_S,
      ':expectedJobId': JOB_ID,
    });
    expect(updates[0].values).not.toHaveProperty(':expiresAt');

    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'SUBMITTED',
      submittedAtEpochS: NOW_S,
      deadlineEpochS: NOW_S + MAX_RUN_TIME_S,
      pollCount: 0,
      waitSeconds: 30,
      attempts: 0,
      alreadySubmitted: false,
    });
  });

  test('records its intent, then submits, then records the job', async () => {
    // Act
    await submitJob(submitInput(), deps());

    // Assess
    const [intent, record] = ddbMock.commandCalls(UpdateItemCommand);
    const submit = batchMock.commandCalls(SubmitJobCommand)[0];
    expect(intent.calledBefore(submit)).toBe(true);
    expect(submit.calledBefore(record)).toBe(true);
  });

  test('after an attempt that recorded its intent and crashed, looks in the queue, then submits, then records', async () => {
    // Prepare
    laterAttempt({});

    // Act
    await submitJob(submitInput(), deps());

    // Assess
    const getItem = ddbMock.commandCalls(GetItemCommand)[0];
    const listJobs = batchMock.commandCalls(ListJobsCommand);
    const submit = batchMock.commandCalls(SubmitJobCommand)[0];
    expect(getItem.args[0].input).toMatchObject({ Key: { runRequestID: { S: RUN_REQUEST_ID } }, ConsistentRead: true });
    expect(listJobs).toHaveLength(1);
    expect(listJobs[0].args[0].input).toEqual({ jobQueue: JOB_QUEUE, filters: [{ name: 'JOB_NAME', values: [JOB_NAME] }] });
    expect(getItem.calledBefore(listJobs[0])).toBe(true);
    expect(listJobs[0].calledBefore(submit)).toBe(true);
    expect(statusUpdates()).toHaveLength(1);
  });

  test('refuses to submit for a run request that does not exist', async () => {
    ddbMock.on(UpdateItemCommand, INTENT).rejects(conditionFailed());
    ddbMock.on(GetItemCommand).resolves({});

    await expect(submitJob(submitInput(), deps())).rejects.toThrow(new InvalidInputError(`submit-job: run request ${RUN_REQUEST_ID} does not exist`));
    expect(batchMock.calls()).toHaveLength(0);
  });

  test.each([
    ['only the route has parameters', (raw: Record<string, any>) => delete raw.parameters, { mode: 'incremental', verbosity: 'info' }],
    ['only the request has parameters', (raw: Record<string, any>) => delete raw.route.parameters, { inputKey: 's3://acme-input/2024-06-10/batch-17.csv', mode: 'full' }],
    [
      'neither has parameters',
      (raw: Record<string, any>) => {
        delete raw.parameters;
        delete raw.route.parameters;
      },
      {},
    ],
  ])('submits the right parameters when %s', async (_label, change, parameters) => {
    // Act
    await submitJob(submitInput(change), deps());

    // Assess
    expect(batchMock.commandCalls(SubmitJobCommand)[0].args[0].input.parameters).toEqual(parameters);
  });

  test('tags the job with values Batch accepts, and gives it a valid name, for an id with unusual characters', async () => {
    // Prepare
    const id = 'client#7/run 1?';
    const input = submitInput((raw) => {
      raw.runRequestID = id;
    });

    // Act
    await submitJob(input, deps());

    // Assess
    const submitted = batchMock.commandCalls(SubmitJobCommand)[0].args[0].input;
    expect(submitted.tags).toEqual({ runRequestID: 'client_7/run 1_', route: 'sample', 'batch-gateway:job-queue': JOB_QUEUE });
    expect(submitted.jobName).toBe(jobNameFor('sample', id));
    expect(submitted.jobName).toMatch(VALID_JOB_NAME);
  });

  test('returns the job the item already records, without looking in the queue or submitting', async () => {
    // Prepare
    laterAttempt({ status: 'RUNNING', jobId: JOB_ID, jobName: JOB_NAME, submittedAtEpochS: 1718000405 });

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'SUBMITTED',
      submittedAtEpochS: 1718000405,
      deadlineEpochS: 1718000405 + MAX_RUN_TIME_S,
      pollCount: 0,
      waitSeconds: 30,
      attempts: 0,
      alreadySubmitted: true,
    });
    expect(batchMock.calls()).toHaveLength(0);
    expect(statusUpdates()).toHaveLength(0);
  });

  test('fills in the name and the submission time when the item records only a jobId', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand, INTENT).rejects(conditionFailed());
    ddbMock.on(GetItemCommand).resolves(itemWith({ jobId: JOB_ID }));

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(job).toMatchObject({ jobId: JOB_ID, jobName: JOB_NAME, submittedAtEpochS: NOW_S, deadlineEpochS: NOW_S + MAX_RUN_TIME_S, alreadySubmitted: true });
    expect(batchMock.calls()).toHaveLength(0);
  });

  test('adopts the earliest job of its name found in the queue (an attempt that crashed before recording), without submitting', async () => {
    // Prepare
    laterAttempt({});
    batchMock.on(ListJobsCommand).resolves(fixture<ListJobsCommandOutput>('list-jobs.crashed-attempt.json'));

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(batchMock.commandCalls(SubmitJobCommand)).toHaveLength(0);
    const updates = statusUpdates();
    expect(updates).toHaveLength(1);
    // createdAt 1718000405217 ms: the deadline runs from the job's creation, not from this retry.
    expect(updates[0].values).toMatchObject({ ':jobId': JOB_ID, ':expectedJobId': JOB_ID, ':jobName': JOB_NAME, ':submittedAtEpochS': 1718000405 });
    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'SUBMITTED',
      submittedAtEpochS: 1718000405,
      deadlineEpochS: 1718000405 + MAX_RUN_TIME_S,
      pollCount: 0,
      waitSeconds: 30,
      attempts: 0,
      alreadySubmitted: true,
    });
  });

  test("records the end of an adopted job that has ended already, and returns it (its end event found no jobId to match)", async () => {
    // Prepare
    laterAttempt({});
    batchMock.on(ListJobsCommand).resolves({
      jobSummaryList: [{ jobId: JOB_ID, jobName: JOB_NAME, createdAt: 1718000405217, status: 'FAILED', statusReason: 'Essential container in task exited', container: { exitCode: 3 }, jobArn: undefined }],
    });

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(batchMock.commandCalls(SubmitJobCommand)).toHaveLength(0);
    const updates = statusUpdates();
    expect(updates.map((u) => u.values[':status'])).toEqual(['SUBMITTED', 'FAILED']);
    expect(updates[1].values).toMatchObject({ ':reason': 'Essential container in task exited', ':exitCode': 3, ':expectedJobId': JOB_ID });
    expect(job).toMatchObject({ jobId: JOB_ID, status: 'FAILED', reason: 'Essential container in task exited', exitCode: 3, alreadySubmitted: true });
  });

  test('ignores a listed job whose name only matches case-insensitively (the JOB_NAME filter ignores case)', async () => {
    // Prepare
    laterAttempt({});
    batchMock.on(ListJobsCommand).resolves({
      jobSummaryList: [{ jobId: OTHER_JOB_ID, jobName: JOB_NAME.toUpperCase(), createdAt: 1718000300000, status: 'SUCCEEDED', jobArn: undefined }],
    });

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(batchMock.commandCalls(SubmitJobCommand)).toHaveLength(1);
    expect(job.jobId).toBe(JOB_ID);
  });

  test('terminates its own job and returns the one another attempt recorded first', async () => {
    // Prepare
    ddbMock
      .on(GetItemCommand)
      .resolvesOnce(itemWith({}))
      .resolvesOnce(itemWith({ status: 'SUBMITTED', jobId: OTHER_JOB_ID, jobName: JOB_NAME, submittedAtEpochS: 1718000466 }));
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    const terminations = batchMock.commandCalls(TerminateJobCommand);
    expect(terminations).toHaveLength(1);
    expect(terminations[0].args[0].input).toEqual({ jobId: JOB_ID, reason: 'batch-gateway: duplicate submission of a run request' });
    expect(ddbMock.commandCalls(GetItemCommand)).toHaveLength(2);
    expect(job).toEqual({
      jobId: OTHER_JOB_ID,
      jobName: JOB_NAME,
      status: 'SUBMITTED',
      submittedAtEpochS: 1718000466,
      deadlineEpochS: 1718000466 + MAX_RUN_TIME_S,
      pollCount: 0,
      waitSeconds: 30,
      attempts: 0,
      alreadySubmitted: true,
    });
  });

  test('keeps its job when the attempt that recorded first recorded the same one', async () => {
    // Prepare
    laterAttempt({});
    batchMock.on(ListJobsCommand).resolves(fixture<ListJobsCommandOutput>('list-jobs.crashed-attempt.json'));
    ddbMock
      .on(GetItemCommand)
      .resolvesOnce(itemWith({}))
      .resolvesOnce(itemWith({ status: 'SUBMITTED', jobId: JOB_ID, jobName: JOB_NAME, submittedAtEpochS: 1718000405 }));
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(batchMock.commandCalls(TerminateJobCommand)).toHaveLength(0);
    expect(job).toMatchObject({ jobId: JOB_ID, submittedAtEpochS: 1718000405, alreadySubmitted: true });
  });

  test.each([
    ['an error named TooManyRequestsException', () => Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } })],
    ['a ClientException "Too Many Requests."', () => new ClientException({ message: 'Too Many Requests.', $metadata: { httpStatusCode: 400 } })],
  ])('throws ThrottledError when SubmitJob is throttled with %s, and records nothing', async (_label, makeError) => {
    // Prepare
    const throttled = makeError();
    batchMock.on(SubmitJobCommand).rejects(throttled);

    // Act
    const result = submitJob(submitInput(), deps());

    // Assess
    await expect(result).rejects.toThrow(ThrottledError);
    await expect(result).rejects.toMatchObject({ name: 'ThrottledError', message: 'SubmitJob throttled', cause: throttled });
    // Only the intent: the retry looks the job up before it submits again.
    expect(statusUpdates()).toHaveLength(0);
  });

  test('throws BatchServerError on a Batch ServerException', async () => {
    // Prepare
    const serverError = new ServerException({ message: 'Internal Server Error', $metadata: { httpStatusCode: 500 } });
    batchMock.on(SubmitJobCommand).rejects(serverError);

    // Act
    const result = submitJob(submitInput(), deps());

    // Assess
    await expect(result).rejects.toThrow(BatchServerError);
    await expect(result).rejects.toMatchObject({ cause: serverError });
  });

  test('rethrows a ClientException for a bad job definition as it is: not transient', async () => {
    // Prepare
    const badDefinition = new ClientException({ message: 'Job definition batch-gateway-sample does not exist.', $metadata: { httpStatusCode: 400 } });
    batchMock.on(SubmitJobCommand).rejects(badDefinition);

    // Act
    const result = submitJob(submitInput(), deps());

    // Assess
    await expect(result).rejects.toBe(badDefinition);
    expect(TRANSIENT_ERROR_NAMES).not.toContain(badDefinition.name);
    expect(statusUpdates()).toHaveLength(0);
  });

  test('throws ThrottledError, without submitting, when ListJobs is throttled', async () => {
    // Prepare
    laterAttempt({});
    batchMock.on(ListJobsCommand).rejects(new ClientException({ message: 'Too Many Requests.', $metadata: { httpStatusCode: 400 } }));

    // Act & Assess
    await expect(submitJob(submitInput(), deps())).rejects.toThrow(ThrottledError);
    expect(batchMock.commandCalls(SubmitJobCommand)).toHaveLength(0);
  });

  test('throws AwsServiceError, without calling Batch, when recording the intent fails with a DynamoDB 500', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand, INTENT).rejects(new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }));

    // Act & Assess
    await expect(submitJob(submitInput(), deps())).rejects.toThrow(AwsServiceError);
    expect(batchMock.calls()).toHaveLength(0);
  });
});

describe('the job state submitJob returns', () => {
  test("has its deadline maxRunTimeSeconds after submission and its first wait from the route's schedule", async () => {
    // Prepare
    const input = submitInput((raw) => {
      raw.route.maxRunTimeSeconds = 7200;
      raw.route.polling = { initialSeconds: 20, multiplier: 2, maxSeconds: 600 };
    });

    // Act
    const job = await submitJob(input, deps());

    // Assess
    expect(job.deadlineEpochS).toBe(NOW_S + 7200);
    expect(job.waitSeconds).toBe(20);
  });

  test('waits no longer than the maximum run time when the first wait would be longer', async () => {
    // Prepare
    const input = submitInput((raw) => {
      raw.route.maxRunTimeSeconds = 60;
      raw.route.polling = { initialSeconds: 90, multiplier: 1, maxSeconds: 120 };
    });

    // Act
    const job = await submitJob(input, deps());

    // Assess
    expect(job.waitSeconds).toBe(60);
  });

  test('waits no longer than the time left before the deadline of a job recorded earlier', async () => {
    // Prepare: a replayed execution; the recorded job has 10 s left of its 3600 s.
    const submittedAtEpochS = NOW_S - MAX_RUN_TIME_S + 10;
    laterAttempt({ status: 'RUNNING', jobId: JOB_ID, jobName: JOB_NAME, submittedAtEpochS });

    // Act
    const job = await submitJob(submitInput(), deps());

    // Assess
    expect(job.deadlineEpochS).toBe(NOW_S + 10);
    expect(job.waitSeconds).toBeLessThanOrEqual(10);
  });
});

describe('jobNameFor', () => {
  test('keeps `<route>-<runRequestID>` for an API Gateway request id (UUID)', () => {
    // Act & Assess
    expect(jobNameFor('sample', RUN_REQUEST_ID)).toBe(JOB_NAME);
  });

  test('keeps a valid name of exactly 128 characters unchanged', () => {
    // Prepare
    const id = 'r'.repeat(128 - 'sample-'.length);

    // Act & Assess
    expect(jobNameFor('sample', id)).toBe(`sample-${id}`);
  });

  test.each([
    ['a UUID on a route name with a dot (routes allow dots, job names do not)', 'sample.v2', RUN_REQUEST_ID],
    ['an id one character too long', 'sample', 'r'.repeat(122)],
    ['an id of 400 characters', 'sample', 'req-'.repeat(100)],
    ['an id with spaces, slashes and colons', 'sample', 'client a/run:1'],
    ['an id with non-ASCII characters', 'sample', 'résumé-✓-报告'],
    ['an id made only of disallowed characters', 'sample', ' /?'],
    ['a long id with non-ASCII characters and slashes', 'sample', `${'ü/'.repeat(90)}end`],
  ])('makes a valid, deterministic name of at most 128 characters for %s', (_label, route, id) => {
    // Act
    const first = jobNameFor(route, id);
    const second = jobNameFor(route, id);

    // Assess
    expect(first).toMatch(VALID_JOB_NAME);
    expect(first.length).toBeLessThanOrEqual(128);
    expect(second).toBe(first);
  });

  test('gives different names to ids that differ only in a disallowed character', () => {
    // Act
    const slash = jobNameFor('sample', 'client-a/run-1');
    const colon = jobNameFor('sample', 'client-a:run-1');

    // Assess
    expect(slash).not.toBe(colon);
    expect(slash).toMatch(/^sample-client-a_run-1-[0-9a-f]{12}$/);
    expect(colon).toMatch(/^sample-client-a_run-1-[0-9a-f]{12}$/);
  });

  test('gives different names to long ids that differ only after the truncation point', () => {
    // Prepare
    const common = 'r'.repeat(200);

    // Act
    const one = jobNameFor('sample', `${common}1`);
    const two = jobNameFor('sample', `${common}2`);

    // Assess
    expect(one).not.toBe(two);
    expect(one).toHaveLength(128);
    expect(two).toHaveLength(128);
  });

  test('gives different names to the same id on different routes', () => {
    // Act & Assess
    expect(jobNameFor('sample', 'x/1')).not.toBe(jobNameFor('other', 'x/1'));
  });

  test.each([
    ['a plain route name', 'sample'],
    ['a route name of 64 characters', `r${'-'.repeat(62)}9`],
    ['a route name with dots (sanitized, hashed)', 'v1.sample.route'],
    ['a route name of 64 characters with dots', `a${'.'.repeat(63)}`],
    ['a route name that ends in a UUID itself', `x-${RUN_REQUEST_ID}`],
  ])('gives back the run request id (a UUID) from the job name of %s, as job-events reads it', (_label, route) => {
    // Prepare
    const id = '0d4f8a2e-1b3c-4d5e-8f70-9a1b2c3d4e5f';

    // Act & Assess
    expect(route).toMatch(new RegExp(ROUTE_NAME_PATTERN));
    expect(runRequestIDOfJobName(jobNameFor(route, id))).toBe(id);
  });

  test('gives no run request id from a name that does not end in one', () => {
    // Act & Assess
    expect(runRequestIDOfJobName('sample-client-a_run-1-0123456789ab')).toBeUndefined();
    expect(runRequestIDOfJobName('event-test')).toBeUndefined();
  });
});

describe('handler', () => {
  const ENV_TABLE = 'batch-gateway-test-run-requests';
  const saved = { ...process.env };


  /** Loaded after the environment is set: the handler reads it from its module scope on first use. */
  function loadHandler(): typeof import('../../lambdas/submit-job/handler').handler {
    return (require('../../lambdas/submit-job/handler') as typeof import('../../lambdas/submit-job/handler')).handler;
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

  test('submits the job of the execution state it is given and returns the job state', async () => {
    // Prepare
    const handler = loadHandler();
    const event = fixture('submit-input.json');

    // Act
    const job = await handler(event, lambdaContext('batch-gateway-submit-job'));

    // Assess
    expect(batchMock.commandCalls(SubmitJobCommand).map((c) => c.args[0].input)).toEqual([expectedSubmit()]);
    const updates = statusUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0].input.TableName).toBe(ENV_TABLE);
    expect(updates[0].values).toMatchObject({ ':status': 'SUBMITTED', ':jobId': JOB_ID, ':submittedAtEpochS': NOW_S });
    expect(job).toEqual({
      jobId: JOB_ID,
      jobName: JOB_NAME,
      status: 'SUBMITTED',
      submittedAtEpochS: NOW_S,
      deadlineEpochS: NOW_S + MAX_RUN_TIME_S,
      pollCount: 0,
      waitSeconds: 30,
      attempts: 0,
      alreadySubmitted: false,
    });
    expect(logger.info).toHaveBeenCalledWith('Job submitted', { jobId: JOB_ID, jobName: JOB_NAME });
  });

  test('rejects malformed input with InvalidInputError naming the bad path, before any AWS call', async () => {
    // Prepare
    const handler = loadHandler();
    const event = fixture<Record<string, any>>('submit-input.json');
    delete event.route.jobDefinition;

    // Act
    const result = handler(event, lambdaContext('batch-gateway-submit-job'));

    // Assess
    await expect(result).rejects.toThrow(InvalidInputError);
    await expect(result).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('route.jobDefinition: expected string') });
    expect(ddbMock.calls()).toHaveLength(0);
    expect(batchMock.calls()).toHaveLength(0);
  });

  test('logs and rethrows a failure of the core', async () => {
    // Prepare
    const handler = loadHandler();
    batchMock.on(SubmitJobCommand).rejects(new ServerException({ message: 'Internal Server Error', $metadata: { httpStatusCode: 500 } }));

    // Act & Assess
    await expect(handler(fixture('submit-input.json'), lambdaContext('batch-gateway-submit-job'))).rejects.toThrow(BatchServerError);
    expect(logger.error).toHaveBeenCalledWith('Submit failed', { error: expect.any(BatchServerError) });
  });
});

describe("the largest request the API accepts", () => {
  test("makes a SubmitJob payload within Batch's 30 KiB, which the route check bounds from above", async () => {
    // Prepare: as many parameters as the model allows, each with the longest name and a value of the
    // longest length in 4-byte characters (the most UTF-8 a counted character can take), and the
    // longest tag values and artifacts prefix.
    const parameters = Object.fromEntries(
      Array.from({ length: RUN_REQUEST_LIMITS.parameters }, (_, i) => [`p${i}`.padEnd(64, '_'), '\u{1F600}'.repeat(RUN_REQUEST_LIMITS.parameterValue)]),
    );
    const body = { processname: 'sample', clientname: 'c'.repeat(RUN_REQUEST_LIMITS.clientname), parameters };
    const { $schema: _dialect, ...schema } = RUN_REQUEST_BODY_SCHEMA;
    const accepted = new Ajv().validate(schema, body);
    const input = submitInput((raw) => Object.assign(raw, { parameters, route: { ...raw.route, parameters: {}, artifactsBucket: 'b'.repeat(63) } }));

    // Act
    await submitJob(input, deps());

    // Assess
    const payload = Buffer.byteLength(JSON.stringify(batchMock.commandCalls(SubmitJobCommand)[0].args[0].input), 'utf8');
    expect(accepted).toBe(true);
    expect(payload).toBeGreaterThan(25_000);
    expect(payload).toBeLessThanOrEqual(AWS_LIMITS.submitJobPayloadBytes);
    expect(worstCaseSubmitJobBytes(input.route)).toBeGreaterThanOrEqual(payload);
  });
});
