/**
 * Checks one Batch job: the whole loop of a `poll` route, the safety net of an `events` route
 * (whose job's end may be recorded already: then Batch is not asked). DescribeJobs, record a
 * status change (only when it changed), end the run at the route's deadline (TIMED_OUT,
 * optionally terminating the job), and compute the wait before the next check.
 */
import { BatchClient, DescribeJobsCommand, JobDetail, TerminateJobCommand } from '@aws-sdk/client-batch';
import { type JobState, type PollInput, waitSecondsFor } from '../../contract';
import { JobNotFoundError, surfaceAwsError } from '../shared/aws-errors';
import { isBatchOutcome, jobReportOf } from '../shared/batch-job';
import { batchOutcomeOf, jobStateFromItem } from '../shared/job-completion';
import { readRunRequest, recordStatus, StatusStoreDeps } from '../shared/run-requests-table';

export interface PollJobDeps extends StatusStoreDeps {
  readonly batch: BatchClient;
}

export async function describeJob(jobId: string, batch: BatchClient): Promise<JobDetail> {
  let job: JobDetail | undefined;
  try {
    const out = await batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
    job = out.jobs?.find((j) => j.jobId === jobId);
  } catch (err) {
    return surfaceAwsError(err, 'DescribeJobs');
  }
  if (!job) throw new JobNotFoundError(`Batch knows no job ${jobId}`);
  return job;
}

export async function pollJob(input: PollInput, deps: PollJobDeps): Promise<JobState> {
  const previous = input.job;
  const nowS = Math.floor(deps.now() / 1000);
  // With events, the job's end may be recorded already (its wake-up was lost or raced this check):
  // then Batch is not asked at all.
  if (input.route.completion === 'events') {
    const item = await readRunRequest(input.runRequestID, deps);
    const recorded = batchOutcomeOf(item);
    if (item && recorded && item.jobId === previous.jobId) return { ...jobStateFromItem(item, recorded, nowS), pollCount: previous.pollCount + 1 };
  }
  const { status, attempts, reason, exitCode } = jobReportOf(await describeJob(previous.jobId, deps.batch));
  const base = { ...previous, attempts, pollCount: previous.pollCount + 1, alreadySubmitted: undefined };

  if (isBatchOutcome(status)) {
    await recordStatus({ runRequestID: input.runRequestID, status, attempt: attempts, reason, exitCode }, deps);
    return { ...base, status, reason, exitCode, waitSeconds: 1 };
  }

  if (nowS >= previous.deadlineEpochS) {
    const timeoutReason = `maximum run time of ${input.route.maxRunTimeSeconds} s exceeded while ${status}`;
    if (input.route.terminateOnTimeout) {
      try {
        await deps.batch.send(new TerminateJobCommand({ jobId: previous.jobId, reason: `batch-gateway: ${timeoutReason}` }));
      } catch (err) {
        surfaceAwsError(err, 'TerminateJob');
      }
    }
    await recordStatus({ runRequestID: input.runRequestID, status: 'TIMED_OUT', attempt: attempts, reason: timeoutReason }, deps);
    return { ...base, status: 'TIMED_OUT', reason: timeoutReason, waitSeconds: 1 };
  }

  if (status !== previous.status || attempts !== previous.attempts) {
    await recordStatus({ runRequestID: input.runRequestID, status, attempt: attempts, reason }, deps);
  }
  return {
    ...base,
    status,
    reason,
    waitSeconds: waitSecondsFor(previous.pollCount + 1, input.route.polling, previous.deadlineEpochS - nowS),
  };
}
