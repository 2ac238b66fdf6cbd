/**
 * Business metrics of the pipeline (CloudWatch embedded metric format, written with the logs:
 * no API call, no extra latency), in the gateway's own namespace (POWERTOOLS_METRICS_NAMESPACE,
 * set by the module that deploys the function). The monitoring module's alarms read them.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_METRICS_NAMESPACE, ENV, RunRequestStatus, STATUS_METRICS, UNMATCHED_JOB_EVENTS_METRIC } from '../../contract';

export const metrics = new Metrics({
  namespace: process.env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
  serviceName: process.env[ENV.serviceName] || 'batch-gateway',
});

/** Counts one recorded status (in-flight Batch statuses are not counted). */
export function countStatus(status: RunRequestStatus): void {
  const name = (STATUS_METRICS as Partial<Record<RunRequestStatus, string>>)[status];
  if (name) metrics.addMetric(name, MetricUnit.Count, 1);
}

/** Counts one job state change that matched no run request (job-events). */
export function countUnmatchedJobEvent(): void {
  metrics.addMetric(UNMATCHED_JOB_EVENTS_METRIC, MetricUnit.Count, 1);
}

/** Writes what this invocation counted; call once, at its end. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
