/**
 * What a Batch job's details say about the run: its status, attempts, reason and exit code, read
 * the same way from DescribeJobs (poll-job) and from a job state change event (job-events).
 */
import type { JobDetail } from '@aws-sdk/client-batch';
import { createHash } from 'node:crypto';
import { BATCH_JOB_STATUSES, type RunRequestStatus } from '../../contract';
import { sanitizeReason } from './run-requests-table';

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** A run request's id as API Gateway gives it (`$context.requestId`): a UUID. */
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const HASH_LENGTH = 12;
const RUN_REQUEST_ID_IN_JOB_NAME = new RegExp(`-(${UUID})(?:-[0-9a-f]{${HASH_LENGTH}})?$`);

/**
 * A valid Batch job name, unique per run request: `<route>-<runRequestID>` when that is already
 * valid, else the sanitized form cut to fit with a hash of the original, so that two requests
 * never share a name.
 */
export function jobNameFor(routeName: string, runRequestID: string): string {
  const plain = `${routeName}-${runRequestID}`;
  if (JOB_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, HASH_LENGTH);
  const clean = plain.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return `${clean.slice(0, 128 - hash.length - 1) || 'job'}-${hash}`;
}

/**
 * The run request a job name of {@link jobNameFor} was made for, when its id is a UUID (every id
 * the REST API gives): a route name is at most 64 characters, so the id is never cut, and a
 * sanitized name only adds the hash after it. Undefined for any other name. A candidate only:
 * the item must record the job (its id, or this name) for the event to count.
 */
export function runRequestIDOfJobName(jobName: string): string | undefined {
  return RUN_REQUEST_ID_IN_JOB_NAME.exec(jobName)?.[1];
}

export interface JobReport {
  readonly status: (typeof BATCH_JOB_STATUSES)[number];
  /** Attempts Batch has made so far (orders a retried attempt after the one before). */
  readonly attempts: number;
  /** For FAILED: Batch's reason with the last attempt's container reason; otherwise Batch's status reason. Client-safe. */
  readonly reason?: string;
  readonly exitCode?: number;
}

const STATUSES = new Set<RunRequestStatus>(BATCH_JOB_STATUSES);

/** The exit code of the job's last attempt (or of the job), when it has one. */
function exitCodeOf(job: JobDetail): number | undefined {
  const last = job.attempts?.[job.attempts.length - 1];
  return last?.container?.exitCode ?? job.container?.exitCode ?? undefined;
}

/** Batch's reason, with the last attempt's container reason when they differ, fit for the client it reaches. */
function failureReasonOf(job: JobDetail): string {
  const containerReason = job.attempts?.[job.attempts.length - 1]?.container?.reason ?? job.container?.reason;
  const parts = [job.statusReason, containerReason].filter((p): p is string => Boolean(p));
  return parts.length ? sanitizeReason([...new Set(parts)].join(': ')) : 'the job failed';
}

export function jobReportOf(job: JobDetail): JobReport {
  const status = job.status as RunRequestStatus;
  if (!STATUSES.has(status)) throw new Error(`unexpected Batch status ${String(job.status)}`);
  const report = { status: status as JobReport['status'], attempts: job.attempts?.length ?? 0 };
  if (status === 'SUCCEEDED') return { ...report, exitCode: exitCodeOf(job) };
  if (status === 'FAILED') return { ...report, reason: failureReasonOf(job), exitCode: exitCodeOf(job) };
  return { ...report, reason: job.statusReason === undefined ? undefined : sanitizeReason(job.statusReason) };
}

export function isBatchOutcome(status: RunRequestStatus): status is 'SUCCEEDED' | 'FAILED' {
  return status === 'SUCCEEDED' || status === 'FAILED';
}
