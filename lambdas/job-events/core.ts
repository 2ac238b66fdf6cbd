/**
 * A Batch job state change (EventBridge) recorded on its run request, and, when it is the job's
 * end, the execution waiting on it woken. The run request is found by the job's name (submit-job
 * names each job after its run request, and Batch puts the name in every event), cross-checked
 * with the job's runRequestID tag when the event carries tags: AWS's own example events carry
 * none, or only `resourceArn`. Events come at least once and in no guaranteed order: every write
 * is conditional on the job recorded on the run request (or, before submit-job has recorded it,
 * on the job name of its intent) and on a progress number that only grows, so a late, repeated
 * or foreign event changes nothing; a wake-up already done is refused by Step Functions and
 * ignored. An event that matches no run request is counted (JobEventsUnmatched, alarmed).
 */
import type { JobDetail } from '@aws-sdk/client-batch';
import type { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { BATCH_JOB_STATE_CHANGE } from '../../contract';
import type { RunRequestItem } from '../../contract';
import { isBatchOutcome, jobReportOf, runRequestIDOfJobName } from '../shared/batch-job';
import { InvalidRecordError } from '../shared/errors';
import { wakeAwaitingExecution } from '../shared/job-completion';
import { countUnmatchedJobEvent } from '../shared/metrics';
import { describeIssues } from '../shared/parse-input';
import { readRunRequest, recordStatus, type StatusStoreDeps } from '../shared/run-requests-table';

export interface JobEventDeps extends StatusStoreDeps {
  readonly sfn: SFNClient;
}

/** The parts of the event read here; the detail is the job as DescribeJobs describes it. */
const jobStateChangeSchema = z.object({
  source: z.literal(BATCH_JOB_STATE_CHANGE.source),
  'detail-type': z.literal(BATCH_JOB_STATE_CHANGE.detailType),
  detail: z.looseObject({
    jobId: z.string().check(z.minLength(1)),
    jobName: z.optional(z.string()),
    status: z.string(),
    tags: z.optional(z.record(z.string(), z.string())),
  }),
});

export interface JobEventResult {
  readonly runRequestID?: string;
  readonly jobId: string;
  readonly jobName?: string;
  readonly status: string;
  /** False when the item held this status or a later one, or another job: the event changed nothing. */
  readonly recorded: boolean;
  /** True when the event ended the job and woke the execution waiting on it. */
  readonly woken: boolean;
  /** Why nothing was done, for an event that matches no run request (counted as JobEventsUnmatched). */
  readonly ignored?: string;
}

/**
 * Whether the item records this job: its id, or (before submit-job recorded the id) the name of
 * the intent. What the conditional write requires, read back to tell a foreign event from a late one.
 */
function recordsJob(item: RunRequestItem | undefined, job: { jobId: string; jobName?: string }): boolean {
  if (!item) return false;
  if (item.jobId) return item.jobId === job.jobId;
  return job.jobName !== undefined && item.jobName === job.jobName;
}

export async function handleJobEvent(event: unknown, deps: JobEventDeps): Promise<JobEventResult> {
  const parsed = z.safeParse(jobStateChangeSchema, event);
  if (!parsed.success) throw new InvalidRecordError(`job-events: not a Batch job state change: ${describeIssues(parsed.error.issues)}`);
  const job = parsed.data.detail as unknown as JobDetail & { jobId: string };
  const unmatched = (ignored: string, runRequestID?: string): JobEventResult => {
    countUnmatchedJobEvent();
    return { ...(runRequestID ? { runRequestID } : {}), jobId: job.jobId, jobName: job.jobName, status: job.status!, recorded: false, woken: false, ignored };
  };
  const fromName = job.jobName ? runRequestIDOfJobName(job.jobName) : undefined;
  const fromTag = job.tags?.runRequestID;
  if (fromName && fromTag && fromName !== fromTag) return unmatched(`the job's name names run request ${fromName}, its runRequestID tag ${fromTag}`);
  const runRequestID = fromName ?? fromTag;
  if (!runRequestID) return unmatched('neither the job name nor a runRequestID tag names a run request');
  const { status, attempts, reason, exitCode } = jobReportOf(job);

  // An event can come before submit-job has recorded the job's id (a job that starts or ends
  // quickly, a slow submit): matched by the name submit-job's intent recorded, it records the id.
  const which = job.jobName ? { isOrSubmittedAs: { jobId: job.jobId, jobName: job.jobName } } : { is: job.jobId };
  const recorded = await recordStatus({ runRequestID, status, attempt: attempts, reason, exitCode, jobId: job.jobId }, deps, which);
  // Refused: a late or repeated event of this job, or one of a job no run request records.
  // An end, recorded now or by an earlier delivery: the item is the truth the execution gets.
  const item = !recorded || isBatchOutcome(status) ? await readRunRequest(runRequestID, deps) : undefined;
  if (!recorded && !recordsJob(item, job)) return unmatched(`run request ${runRequestID} ${item ? 'records another job' : 'does not exist'}`, runRequestID);
  if (!isBatchOutcome(status)) return { runRequestID, jobId: job.jobId, status, recorded, woken: false };
  const woken = item?.jobId === job.jobId && (await wakeAwaitingExecution(item, deps.sfn, Math.floor(deps.now() / 1000)));
  return { runRequestID, jobId: job.jobId, status, recorded, woken };
}
