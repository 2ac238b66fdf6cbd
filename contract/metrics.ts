/**
 * The pipeline's own metrics (CloudWatch embedded metric format, written with the logs): their
 * names, and the namespace, which is per gateway so that two gateways in one account never add
 * up each other's runs.
 */
import type { RunRequestStatus } from './run-request';

/** The namespace of a function deployed without a gateway around it. */
export const DEFAULT_METRICS_NAMESPACE = 'batch-gateway';

/** The namespace of the gateway whose names start with `namePrefix`. */
export function metricsNamespaceFor(namePrefix: string): string {
  return `${DEFAULT_METRICS_NAMESPACE}/${namePrefix}`;
}

/** The dimension every metric carries: the function that counted it (its Powertools service name). */
export const SERVICE_DIMENSION = 'service';

/**
 * The functions that record a run's outcome, each counting it under its own service dimension:
 * an alarm or a graph of outcomes sums them all (a job's end is recorded by job-events, by poll-job
 * at a check, or by submit-job adopting an ended job; decisions of the state machine by record-status).
 */
export const OUTCOME_RECORDERS = {
  RunsSucceeded: ['job-events', 'poll-job', 'submit-job', 'record-status'],
  RunsFailed: ['job-events', 'poll-job', 'submit-job', 'record-status'],
  RunsTimedOut: ['poll-job', 'record-status'],
} as const;

/** Metric name per recorded status; in-flight Batch statuses are not counted. */
export const STATUS_METRICS = {
  SUBMITTED: 'JobsSubmitted',
  SUCCEEDED: 'RunsSucceeded',
  FAILED: 'RunsFailed',
  TIMED_OUT: 'RunsTimedOut',
  REJECTED: 'RunsRejected',
} as const satisfies Partial<Record<RunRequestStatus, string>>;

/**
 * Job state changes that job-events could tie to no run request, counted under its service: a
 * job in a gateway queue whose name and tags name no run request, one whose name and tag name
 * different ones, or one the named run request does not record (a duplicate, a foreign job).
 * Each is a run that may end only at its safety-net check, or a job the gateway did not submit.
 */
export const UNMATCHED_JOB_EVENTS_METRIC = 'JobEventsUnmatched';
/** The service (function) that counts {@link UNMATCHED_JOB_EVENTS_METRIC}. */
export const UNMATCHED_JOB_EVENTS_SERVICE = 'job-events';
