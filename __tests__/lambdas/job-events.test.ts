import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handleJobEvent, JobEventDeps } from '../../lambdas/job-events/core';
import { UNMATCHED_JOB_EVENTS_METRIC } from '../../contract';
import { ThrottledError } from '../../lambdas/shared/aws-errors';
import { jobNameFor } from '../../lambdas/shared/batch-job';
import { InvalidRecordError } from '../../lambdas/shared/errors';
import { metrics } from '../../lambdas/shared/metrics';
import { TERMINAL_PROGRESS } from '../../lambdas/shared/run-requests-table';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
const JOB_ID = '8f2c1d3e-5a6b-4c7d-9e0f-1a2b3c4d5e6f';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAf-token';
const NOW_MS = 1718004063000;

const ddbMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);

/** The real event's shape (fixtures/job-events), changed. */
function event(change: (e: Json) => void = () => undefined): Json {
  const e = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'job-events', 'succeeded.json'), 'utf8')) as Json;
  change(e);
  return e;
}

function deps(): JobEventDeps {
  return { ddb: new DynamoDBClient({}), sfn: new SFNClient({}), tableName: 'runs', finishedRetentionDays: 90, now: () => NOW_MS };
}

/** The item as job-events reads it after its write. */
function itemReads(attributes: Json): void {
  ddbMock.on(GetItemCommand).resolves({ Item: marshall({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, jobName: 'sample-x', submittedAtEpochS: 1718000405, deadlineEpochS: 1718004005, ...attributes }) });
}

/** How many unmatched events this test counted (EMF keeps one value per count). */
function unmatchedCounted(): number {
  if (!metrics.hasStoredMetrics()) return 0;
  const value = (metrics.serializeMetrics() as unknown as Json)[UNMATCHED_JOB_EVENTS_METRIC];
  return value === undefined ? 0 : [value].flat().length;
}

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });

beforeEach(() => {
  metrics.clearMetrics();
  ddbMock.reset();
  sfnMock.reset();
  ddbMock.on(UpdateItemCommand).resolves({});
  sfnMock.on(SendTaskSuccessCommand).resolves({});
});

describe('handleJobEvent', () => {
  it("records a job's end on its run request, only over the job it records, and wakes the execution waiting on it", async () => {
    itemReads({ status: 'SUCCEEDED', exitCode: 0, awaitTaskToken: TOKEN });

    const result = await handleJobEvent(event(), deps());

    expect(result).toEqual({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, status: 'SUCCEEDED', recorded: true, woken: true });
    const update = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    // This job, or none yet under the name submit-job's intent recorded (an event before the id was recorded).
    expect(update.ConditionExpression).toMatch(/ AND \(jobId = :expectedJobId OR \(attribute_not_exists\(jobId\) AND jobName = :expectedJobName\)\)$/);
    expect(update.UpdateExpression).toContain('jobId = :jobId');
    expect(unmarshall(update.ExpressionAttributeValues!)).toMatchObject({
      ':status': 'SUCCEEDED',
      ':progress': TERMINAL_PROGRESS,
      ':exitCode': 0,
      ':jobId': JOB_ID,
      ':expectedJobId': JOB_ID,
      ':expectedJobName': event().detail.jobName,
    });
    const sent = sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(sent.taskToken).toBe(TOKEN);
    expect(JSON.parse(sent.output!)).toEqual({
      jobId: JOB_ID,
      jobName: 'sample-x',
      status: 'SUCCEEDED',
      submittedAtEpochS: 1718000405,
      deadlineEpochS: 1718004005,
      pollCount: 0,
      waitSeconds: 1,
      attempts: 0,
      exitCode: 0,
    });
  });

  it("records FAILED with Batch's reasons and exit code, no ARN in them", async () => {
    itemReads({ status: 'FAILED', awaitTaskToken: TOKEN, reason: 'x', exitCode: 3 });

    await handleJobEvent(
      event((e) => {
        e.detail.status = 'FAILED';
        e.detail.statusReason = 'Essential container in task exited';
        e.detail.attempts[0].container.exitCode = 3;
        e.detail.attempts[0].container.reason = 'OutOfMemoryError in arn:aws:ecs:us-east-1:123456789012:task/c/abc';
      }),
      deps(),
    );

    const values = unmarshall(ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues!);
    expect(values).toMatchObject({ ':status': 'FAILED', ':exitCode': 3, ':reason': 'Essential container in task exited: OutOfMemoryError in <arn>' });
  });

  it('records RUNNING and wakes nothing: the job has not ended', async () => {
    const result = await handleJobEvent(event((e) => (e.detail.status = 'RUNNING')), deps());

    expect(result).toMatchObject({ status: 'RUNNING', recorded: true, woken: false });
    expect(ddbMock.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('changes nothing on a late or repeated event, but still wakes an execution a lost wake-up left waiting', async () => {
    // The end was recorded by an earlier delivery whose SendTaskSuccess failed: this delivery finishes its work.
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
    itemReads({ status: 'SUCCEEDED', awaitTaskToken: TOKEN });

    const result = await handleJobEvent(event(), deps());

    expect(result).toMatchObject({ recorded: false, woken: true });
  });

  it('ignores an old RUNNING arriving after the end: the progress condition refuses it, and nothing is sent', async () => {
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
    itemReads({ status: 'SUCCEEDED', awaitTaskToken: TOKEN });

    const result = await handleJobEvent(event((e) => (e.detail.status = 'RUNNING')), deps());

    expect(result).toEqual({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, status: 'RUNNING', recorded: false, woken: false });
    expect(sfnMock.calls()).toHaveLength(0);
    // A late event of the run's own job is no unmatched event.
    expect(unmatchedCounted()).toBe(0);
  });

  it('wakes nothing when the item records another job (a duplicate), and counts the event as unmatched', async () => {
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
    itemReads({ jobId: 'the-recorded-job', status: 'SUCCEEDED', awaitTaskToken: TOKEN });

    expect(await handleJobEvent(event(), deps())).toMatchObject({ recorded: false, woken: false, ignored: `run request ${RUN_REQUEST_ID} records another job` });
    expect(sfnMock.calls()).toHaveLength(0);
    expect(unmatchedCounted()).toBe(1);
  });

  it('leaves the wake-up to await-job when no token is stored yet', async () => {
    itemReads({ status: 'SUCCEEDED' });

    expect(await handleJobEvent(event(), deps())).toMatchObject({ recorded: true, woken: false });
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('takes a spent token (woken already, or timed out into its check) as done', async () => {
    itemReads({ status: 'SUCCEEDED', awaitTaskToken: TOKEN });
    sfnMock.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: { httpStatusCode: 400 } }));

    expect(await handleJobEvent(event(), deps())).toMatchObject({ recorded: true, woken: false });
  });

  it('throws ThrottledError when Step Functions is throttled, so the delivery is retried', async () => {
    itemReads({ status: 'SUCCEEDED', awaitTaskToken: TOKEN });
    sfnMock.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    await expect(handleJobEvent(event(), deps())).rejects.toThrow(ThrottledError);
  });

  describe('an event without the job tags (AWS example events carry none, or only resourceArn)', () => {
    const withoutTags = (e: Json) => delete e.detail.tags;
    const onlyResourceArn = (e: Json) => (e.detail.tags = { resourceArn: e.detail.jobArn });

    it.each([
      ['no tags', withoutTags],
      ['tags with only resourceArn', onlyResourceArn],
    ])('finds the run request by the job name submit-job gave it (%s), records the end and wakes the execution', async (_, change) => {
      itemReads({ status: 'SUCCEEDED', exitCode: 0, awaitTaskToken: TOKEN });

      const result = await handleJobEvent(event(change), deps());

      expect(result).toEqual({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, status: 'SUCCEEDED', recorded: true, woken: true });
      const update = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
      expect(unmarshall(update.Key!)).toEqual({ runRequestID: RUN_REQUEST_ID });
      // Still only over this job, or the name the intent recorded.
      expect(unmarshall(update.ExpressionAttributeValues!)).toMatchObject({ ':expectedJobId': JOB_ID, ':expectedJobName': event().detail.jobName });
      expect(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.taskToken).toBe(TOKEN);
      expect(unmatchedCounted()).toBe(0);
    });

    it('records RUNNING by the job name alone', async () => {
      const result = await handleJobEvent(event((e) => ((e.detail.status = 'RUNNING'), withoutTags(e))), deps());

      expect(result).toEqual({ runRequestID: RUN_REQUEST_ID, jobId: JOB_ID, status: 'RUNNING', recorded: true, woken: false });
    });

    it("finds the run request of a route whose name had to be sanitized (the job name ends in the id and a hash)", async () => {
      const jobName = jobNameFor('Sample.Route', RUN_REQUEST_ID);
      expect(jobName).toMatch(new RegExp(`^Sample_Route-${RUN_REQUEST_ID}-[0-9a-f]{12}$`));
      itemReads({ jobName, status: 'SUCCEEDED', awaitTaskToken: TOKEN });

      const result = await handleJobEvent(event((e) => ((e.detail.jobName = jobName), withoutTags(e))), deps());

      expect(result).toMatchObject({ runRequestID: RUN_REQUEST_ID, recorded: true, woken: true });
    });

    it('records nothing, and counts the event, for a job whose name names no run request', async () => {
      const result = await handleJobEvent(event((e) => ((e.detail.jobName = 'someone-elses-job'), withoutTags(e))), deps());

      expect(result).toMatchObject({ recorded: false, woken: false, ignored: 'neither the job name nor a runRequestID tag names a run request' });
      expect(ddbMock.calls()).toHaveLength(0);
      expect(unmatchedCounted()).toBe(1);
    });

    it('records nothing, and counts the event, when the run request its name names does not exist', async () => {
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      ddbMock.on(GetItemCommand).resolves({});

      const result = await handleJobEvent(event(withoutTags), deps());

      expect(result).toMatchObject({ runRequestID: RUN_REQUEST_ID, recorded: false, woken: false, ignored: `run request ${RUN_REQUEST_ID} does not exist` });
      expect(sfnMock.calls()).toHaveLength(0);
      expect(unmatchedCounted()).toBe(1);
    });
  });

  it('falls back on the runRequestID tag when the job name holds no run request id (an execution started by hand)', async () => {
    itemReads({ runRequestID: 'by-hand-1', status: 'SUCCEEDED', awaitTaskToken: TOKEN });

    const result = await handleJobEvent(event((e) => ((e.detail.jobName = 'sample-by-hand-1'), (e.detail.tags.runRequestID = 'by-hand-1'))), deps());

    expect(result).toMatchObject({ runRequestID: 'by-hand-1', recorded: true, woken: true });
    expect(unmarshall(ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input.Key!)).toEqual({ runRequestID: 'by-hand-1' });
  });

  it('records nothing, and counts the event, when the job name and the runRequestID tag name different run requests', async () => {
    const other = '0d4f8a2e-1b3c-4d5e-8f70-9a1b2c3d4e5f';

    const result = await handleJobEvent(event((e) => (e.detail.tags.runRequestID = other)), deps());

    expect(result).toMatchObject({ recorded: false, woken: false, ignored: `the job's name names run request ${RUN_REQUEST_ID}, its runRequestID tag ${other}` });
    expect(ddbMock.calls()).toHaveLength(0);
    expect(unmatchedCounted()).toBe(1);
  });

  it('refuses an event that is not a Batch job state change, naming what is wrong', async () => {
    await expect(handleJobEvent(event((e) => (e['detail-type'] = 'EC2 Instance State-change Notification')), deps())).rejects.toThrow(InvalidRecordError);
    await expect(handleJobEvent({ source: 'aws.batch' }, deps())).rejects.toThrow(/detail-type/);
  });
});
