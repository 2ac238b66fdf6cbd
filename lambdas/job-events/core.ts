/**
 * A Batch job state change (EventBridge) recorded on its run request, and, when it is the job's
 * end, the execution waiting on it woken. Events come at least once and in no guaranteed order:
 * every write is conditional on the job recorded on the run request (or, before submit-job has
 * recorded it, on the job name of its intent) and on a progress number that only grows, so a
 * late, repeated or foreign event changes nothing; a wake-up already done is refused by Step
 * Functions and ignored.
 */
import type { JobDetail } from '@aws-sdk/client-batch';
import type { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { BATCH_JOB_STATE_CHANGE } from '../../contract';
import { isBatchOutcome, jobReportOf } from '../shared/batch-job';
import { InvalidRecordError } from '../shared/errors';
import { wakeAwaitingExecution } from '../shared/job-completion';
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
  readonly status: string;
  /** False when the item held this status or a later one, or another job: the event changed nothing. */
  readonly recorded: boolean;
  /** True when the event ended the job and woke the execution waiting on it. */
  readonly woken: boolean;
  /** Why nothing was done, for an event the gateway does not own. */
  readonly ignored?: string;
}

export async function handleJobEvent(event: unknown, deps: JobEventDeps): Promise<JobEventResult> {
  const parsed = z.safeParse(jobStateChangeSchema, event);
  if (!parsed.success) throw new InvalidRecordError(`job-events: not a Batch job state change: ${describeIssues(parsed.error.issues)}`);
  const job = parsed.data.detail as unknown as JobDetail & { jobId: string };
  const runRequestID = job.tags?.runRequestID;
  if (!runRequestID) return { jobId: job.jobId, status: job.status!, recorded: false, woken: false, ignored: 'the job carries no runRequestID tag' };
  const { status, attempts, reason, exitCode } = jobReportOf(job);

  // An event can come before submit-job has recorded the job's id (a job that starts or ends
  // quickly, a slow submit): matched by the name submit-job's intent recorded, it records the id.
  const which = job.jobName ? { isOrSubmittedAs: { jobId: job.jobId, jobName: job.jobName } } : { is: job.jobId };
  const recorded = await recordStatus({ runRequestID, status, attempt: attempts, reason, exitCode, jobId: job.jobId }, deps, which);
  if (!isBatchOutcome(status)) return { runRequestID, jobId: job.jobId, status, recorded, woken: false };
  // Recorded now or by an earlier delivery of this event: the item is the truth the execution gets.
  const item = await readRunRequest(runRequestID, deps);
  const woken = item?.jobId === job.jobId && (await wakeAwaitingExecution(item, deps.sfn, Math.floor(deps.now() / 1000)));
  return { runRequestID, jobId: job.jobId, status, recorded, woken };
}
