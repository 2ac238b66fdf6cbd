/**
 * Polls one Batch job: DescribeJobs, record a status change (only when the status changed),
 * end the run at the route's deadline (TIMED_OUT, optionally terminating the job), and compute
 * the next wait of the polling schedule.
 */
import { BatchClient, DescribeJobsCommand, JobDetail, TerminateJobCommand } from '@aws-sdk/client-batch';
import { BATCH_JOB_STATUSES, type JobState, type PollInput, type RunRequestStatus, waitSecondsFor } from '../../contract';
import { JobNotFoundError, surfaceAwsError } from '../shared/aws-errors';
import { recordStatus, sanitizeReason, StatusStoreDeps } from '../shared/run-requests-table';

export interface PollJobDeps extends StatusStoreDeps {
  readonly batch: BatchClient;
}

const BATCH_STATUSES = new Set<RunRequestStatus>(BATCH_JOB_STATUSES);

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

/** The exit code of the job's last attempt (or of the job), when it has one. */
function exitCodeOf(job: JobDetail): number | undefined {
  const last = job.attempts?.[job.attempts.length - 1];
  return last?.container?.exitCode ?? job.container?.exitCode ?? undefined;
}

/** Batch's reason, with the last attempt's container reason when they differ, fit for the client it reaches. */
function reasonOf(job: JobDetail): string | undefined {
  const containerReason = job.attempts?.[job.attempts.length - 1]?.container?.reason ?? job.container?.reason;
  const parts = [job.statusReason, containerReason].filter((p): p is string => Boolean(p));
  return parts.length ? sanitizeReason([...new Set(parts)].join(': ')) : undefined;
}

export async function pollJob(input: PollInput, deps: PollJobDeps): Promise<JobState> {
  const previous = input.job;
  const job = await describeJob(previous.jobId, deps.batch);
  const status = job.status as RunRequestStatus;
  if (!BATCH_STATUSES.has(status)) throw new Error(`unexpected Batch status ${String(job.status)}`);
  const attempts = job.attempts?.length ?? 0;
  const nowS = Math.floor(deps.now() / 1000);
  const base = { ...previous, attempts, pollCount: previous.pollCount + 1, alreadySubmitted: undefined };

  if (status === 'SUCCEEDED' || status === 'FAILED') {
    const exitCode = exitCodeOf(job);
    const reason = status === 'FAILED' ? (reasonOf(job) ?? 'the job failed') : undefined;
    await recordStatus({ runRequestID: input.runRequestID, status, attempt: attempts, reason, exitCode }, deps);
    return { ...base, status, reason, exitCode, waitSeconds: 1 };
  }

  if (nowS >= previous.deadlineEpochS) {
    const reason = `maximum run time of ${input.route.maxRunTimeSeconds} s exceeded while ${status}`;
    if (input.route.terminateOnTimeout) {
      try {
        await deps.batch.send(new TerminateJobCommand({ jobId: previous.jobId, reason: `batch-gateway: ${reason}` }));
      } catch (err) {
        surfaceAwsError(err, 'TerminateJob');
      }
    }
    await recordStatus({ runRequestID: input.runRequestID, status: 'TIMED_OUT', attempt: attempts, reason }, deps);
    return { ...base, status: 'TIMED_OUT', reason, waitSeconds: 1 };
  }

  const reason = job.statusReason === undefined ? undefined : sanitizeReason(job.statusReason);
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
