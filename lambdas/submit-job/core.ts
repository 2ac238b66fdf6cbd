/**
 * Submits the Batch job of one run request, at most once, with one Batch call in the common case.
 * The first attempt records its intent on the item (a conditional write) and submits. A later
 * attempt (a retried Task, a replayed execution) finds either the recorded jobId, which it
 * returns, or an intent without one: the attempt before it may have submitted and crashed before
 * recording, so it looks the job up by its deterministic name (ListJobs) and adopts it, and
 * submits only if there is none. The jobId is recorded under a condition that a concurrent
 * attempt cannot have recorded another.
 *
 * The window that remains: ListJobs is eventually consistent, so an attempt that crashed right
 * after SubmitJob and is retried within about a second may not see the first job and submit a
 * second one. The conditional write then keeps the first recorded jobId; the second job is
 * terminated when its attempt loses that race, but not if the first attempt had crashed before
 * recording anything.
 */
import { BatchClient, type JobDetail, type JobSummary, ListJobsCommand, SubmitJobCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { JOB_QUEUE_TAG, type JobState, type SubmitInput, waitSecondsFor } from '../../contract';
import { jobNameFor, jobReportOf } from '../shared/batch-job';
import { logger } from '../shared/logger';
import { InvalidInputError, surfaceAwsError } from '../shared/aws-errors';
import { readRecordedJob, readRunRequest, recordStatus, recordSubmitIntent, StatusStoreDeps } from '../shared/run-requests-table';

export interface SubmitJobDeps extends StatusStoreDeps {
  readonly batch: BatchClient;
}

// The name job-events finds the run request by, when the job's event carries no tags.
export { jobNameFor } from '../shared/batch-job';

/** Batch tag values allow letters, digits, spaces and `+ - = . _ : / @`, up to 256 characters. */
function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9 +\-=._:/@]/g, '_').slice(0, 256);
}

async function findSubmittedJob(jobQueue: string, jobName: string, deps: SubmitJobDeps): Promise<(JobSummary & { jobId: string }) | undefined> {
  try {
    const out = await deps.batch.send(new ListJobsCommand({ jobQueue, filters: [{ name: 'JOB_NAME', values: [jobName] }] }));
    const jobs = [...(out.jobSummaryList ?? [])].sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    return jobs.find((j): j is JobSummary & { jobId: string } => j.jobName === jobName && Boolean(j.jobId));
  } catch (err) {
    return surfaceAwsError(err, 'ListJobs');
  }
}

function jobState(input: SubmitInput, jobId: string, jobName: string, submittedAtEpochS: number, alreadySubmitted: boolean, nowS: number): JobState {
  const deadlineEpochS = submittedAtEpochS + input.route.maxRunTimeSeconds;
  return {
    jobId,
    jobName,
    status: 'SUBMITTED',
    submittedAtEpochS,
    deadlineEpochS,
    pollCount: 0,
    // A job submitted earlier (replay, adoption) may have little time left.
    waitSeconds: waitSecondsFor(0, input.route.polling, deadlineEpochS - nowS),
    attempts: 0,
    alreadySubmitted,
  };
}

export async function submitJob(input: SubmitInput, deps: SubmitJobDeps): Promise<JobState> {
  const nowS = Math.floor(deps.now() / 1000);
  const jobName = jobNameFor(input.route.name, input.runRequestID);
  let found: (JobSummary & { jobId: string }) | undefined;
  if (!(await recordSubmitIntent(input.runRequestID, jobName, deps))) {
    // Not the first attempt: what did the ones before do?
    const item = await readRunRequest(input.runRequestID, deps);
    if (!item) throw new InvalidInputError(`submit-job: run request ${input.runRequestID} does not exist`);
    if (item.jobId) return jobState(input, item.jobId, item.jobName ?? jobName, item.submittedAtEpochS ?? nowS, true, nowS);
    found = await findSubmittedJob(input.route.jobQueue, jobName, deps);
  }
  let jobId: string;
  let submittedAtEpochS = nowS;
  if (found) {
    jobId = found.jobId;
    if (found.createdAt) submittedAtEpochS = Math.floor(found.createdAt / 1000);
  } else {
    try {
      const out = await deps.batch.send(
        new SubmitJobCommand({
          jobName,
          jobQueue: input.route.jobQueue,
          jobDefinition: input.route.jobDefinition,
          // The request's parameters override the route's defaults.
          parameters: { ...input.route.parameters, ...(input.parameters ?? {}) },
          // The queue tag is what lets the gateway (and nothing broader) terminate the job later.
          tags: { runRequestID: tagValue(input.runRequestID), route: tagValue(input.route.name), [JOB_QUEUE_TAG]: input.route.jobQueue },
          propagateTags: true,
          // Where the job may put its results: its own prefix of the artifacts bucket.
          containerOverrides: input.route.artifactsBucket
            ? {
                environment: [
                  { name: 'ARTIFACTS_BUCKET', value: input.route.artifactsBucket },
                  { name: 'ARTIFACTS_PREFIX', value: `${input.runRequestID}/` },
                ],
              }
            : undefined,
        }),
      );
      jobId = out.jobId!;
    } catch (err) {
      return surfaceAwsError(err, 'SubmitJob');
    }
  }

  const deadlineEpochS = submittedAtEpochS + input.route.maxRunTimeSeconds;
  const recordedNow = await recordStatus(
    { runRequestID: input.runRequestID, status: 'SUBMITTED', jobId, jobName, submittedAtEpochS, deadlineEpochS },
    deps,
    { unsetOr: jobId },
  );
  if (!recordedNow) {
    // Another attempt recorded first: keep its job, and cancel ours if it is a different one.
    const winner = await readRecordedJob(input.runRequestID, deps);
    if (winner.jobId && winner.jobId !== jobId) {
      await terminateDuplicate(jobId, deps);
      return jobState(input, winner.jobId, winner.jobName ?? jobName, winner.submittedAtEpochS ?? submittedAtEpochS, true, nowS);
    }
  }
  const state = jobState(input, jobId, jobName, submittedAtEpochS, Boolean(found), nowS);
  if (found && recordedNow && (found.status === 'SUCCEEDED' || found.status === 'FAILED')) {
    // The adopted job has ended already: its end event came before its id was recorded and
    // changed nothing, so its end is recorded now instead of at the next safety-net check.
    const { status, attempts, reason, exitCode } = jobReportOf(found as JobDetail);
    await recordStatus({ runRequestID: input.runRequestID, status, attempt: attempts, reason, exitCode }, deps, { is: jobId });
    return { ...state, status, ...(reason !== undefined ? { reason } : {}), ...(exitCode !== undefined ? { exitCode } : {}) };
  }
  return state;
}

/**
 * Best effort: the run goes on with the recorded job whatever happens here, so a failure to
 * cancel the duplicate is logged (with its job id, for an operator) rather than failing the run.
 */
async function terminateDuplicate(jobId: string, deps: SubmitJobDeps): Promise<void> {
  try {
    await deps.batch.send(new TerminateJobCommand({ jobId, reason: 'batch-gateway: duplicate submission of a run request' }));
  } catch (err) {
    logger.error('Could not terminate a duplicate job', { duplicateJobId: jobId, error: err as Error });
  }
}
