/**
 * Business metrics of the pipeline (CloudWatch embedded metric format, written with the logs:
 * no API call, no extra latency). The monitoring module's dashboard and alarms read them.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { RunRequestStatus } from './run-request';

export const METRICS_NAMESPACE = 'batch-gateway';

export const metrics = new Metrics({ namespace: process.env.METRICS_NAMESPACE || METRICS_NAMESPACE, serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'batch-gateway' });

/** Metric name per recorded status: `JobsSubmitted`, `RunsSucceeded`, `RunsFailed`, ... */
export const STATUS_METRICS: Partial<Record<RunRequestStatus, string>> = {
  SUBMITTED: 'JobsSubmitted',
  SUCCEEDED: 'RunsSucceeded',
  FAILED: 'RunsFailed',
  TIMED_OUT: 'RunsTimedOut',
  REJECTED: 'RunsRejected',
};

/** Counts one recorded status (in-flight Batch statuses are not counted). */
export function countStatus(status: RunRequestStatus): void {
  const name = STATUS_METRICS[status];
  if (name) metrics.addMetric(name, MetricUnit.Count, 1);
}

/** Writes what this invocation counted; call once, at its end. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
