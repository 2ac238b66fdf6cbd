import { DEFAULT_METRICS_NAMESPACE as METRICS_NAMESPACE, STATUS_METRICS } from '../../contract';
import { countStatus, metrics } from '../../lambdas/shared/metrics';

describe('status metrics', () => {
  afterEach(() => metrics.clearMetrics());

  it('counts each outcome and each submission under its own name, in the pipeline namespace', () => {
    countStatus('SUBMITTED');
    countStatus('FAILED');
    countStatus('FAILED');

    const emf = metrics.serializeMetrics();

    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    // EMF keeps one value per addMetric call; CloudWatch sums them.
    expect(emf).toMatchObject({ JobsSubmitted: 1, RunsFailed: [1, 1] });
  });

  it('does not count in-flight Batch statuses', () => {
    countStatus('RUNNABLE');
    countStatus('RUNNING');

    expect(metrics.hasStoredMetrics()).toBe(false);
    expect(Object.keys(STATUS_METRICS).sort()).toEqual(['FAILED', 'REJECTED', 'SUBMITTED', 'SUCCEEDED', 'TIMED_OUT']);
  });
});
