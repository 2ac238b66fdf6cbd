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

/** Metric name per recorded status; in-flight Batch statuses are not counted. */
export const STATUS_METRICS = {
  SUBMITTED: 'JobsSubmitted',
  SUCCEEDED: 'RunsSucceeded',
  FAILED: 'RunsFailed',
  TIMED_OUT: 'RunsTimedOut',
  REJECTED: 'RunsRejected',
} as const satisfies Partial<Record<RunRequestStatus, string>>;
