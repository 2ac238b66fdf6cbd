/**
 * What a Batch job's details say about the run: its status, attempts, reason and exit code, read
 * the same way from DescribeJobs (poll-job) and from a job state change event (job-events).
 */
import type { JobDetail } from '@aws-sdk/client-batch';
import { BATCH_JOB_STATUSES, type RunRequestStatus } from '../../contract';
import { sanitizeReason } from './run-requests-table';

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
