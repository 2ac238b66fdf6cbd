import { Construct } from 'constructs';
import { IMonitoredFunction, Monitoring, MonitoringProps } from '../../modules/monitoring';
import { onlyResource, resourcesOf, synthStack, Synthesized } from '../helpers/synth';

/** A function as the modules expose it: a construct (its id labels the alarms) with a function name. */
function fn(scope: Construct, id: string, functionName: string): IMonitoredFunction {
  return Object.assign(new Construct(scope, id), { functionName });
}

const base = {
  api: { apiName: 'bg-api', stageName: 'v1' },
  streamTrigger: { functionName: 'bg-start-execution', deadLetterQueueName: 'bg-dead-letters' },
  stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:bg',
  accountArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/bg',
};

function props(scope: Construct): MonitoringProps {
  return { ...base, functions: [fn(scope, 'submit-job', 'bg-submit-job'), fn(scope, 'notify', 'bg-notify')] };
}

function alarmsOf(json: Synthesized): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).map((a) => [String(a.alarm_name).replace(/^test-monitoring-/, ''), a]));
}

describe('Monitoring', () => {
  const json = synthStack((stack) => new Monitoring(stack, 'monitoring', props(stack)));
  const alarms = alarmsOf(json);

  it('alarms on every stage of the pipeline', () => {
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'api-5xx-rate',
        'api-4xx-surge',
        'stream-iterator-age',
        'stream-dead-letters',
        'executions-executionsfailed',
        'executions-executionstimedout',
        'executions-executionthrottled',
        'runs-failed',
        'submit-job-errors',
        'submit-job-throttles',
        'notify-errors',
        'notify-throttles',
      ].sort(),
    );
  });

  it('sends every alarm and its recovery to the one topic', () => {
    const topicRef = expect.stringMatching(/^\$\{aws_sns_topic\.monitoring_alarms_[A-F0-9]+\.arn\}$/);
    for (const alarm of Object.values(alarms)) {
      expect(alarm).toMatchObject({ alarm_actions: [topicRef], ok_actions: [topicRef], treat_missing_data: 'notBreaching' });
    }
  });

  it('watches the right metrics with the default thresholds', () => {
    expect(alarms['api-5xx-rate']).toMatchObject({ namespace: 'AWS/ApiGateway', metric_name: '5XXError', statistic: 'Average', threshold: 0.05, dimensions: { ApiName: 'bg-api', Stage: 'v1' } });
    expect(alarms['stream-iterator-age']).toMatchObject({ namespace: 'AWS/Lambda', metric_name: 'IteratorAge', statistic: 'Maximum', threshold: 60000, dimensions: { FunctionName: 'bg-start-execution' } });
    expect(alarms['stream-dead-letters']).toMatchObject({ namespace: 'AWS/SQS', comparison_operator: 'GreaterThanThreshold', threshold: 0, dimensions: { QueueName: 'bg-dead-letters' } });
    expect(alarms['executions-executionsfailed']).toMatchObject({ namespace: 'AWS/States', dimensions: { StateMachineArn: base.stateMachineArn } });
    expect(alarms['notify-throttles']).toMatchObject({ metric_name: 'Throttles', dimensions: { FunctionName: 'bg-notify' } });
  });

  it('counts failed and timed-out runs from every function that records an outcome, with a period on each query only', () => {
    type Query = { id: string; expression?: string; metric?: { metric_name: string; period: number; dimensions: Record<string, string> } };
    const alarm = alarms['runs-failed'] as { metric_query: Query[]; period?: number };
    const metrics = alarm.metric_query.filter((q) => q.metric);

    expect(alarm.period).toBeUndefined();
    expect(metrics.map((q) => `${q.metric!.metric_name} ${q.metric!.dimensions.service}`)).toEqual([
      'RunsFailed job-events',
      'RunsFailed poll-job',
      'RunsFailed submit-job',
      'RunsFailed record-status',
      'RunsTimedOut poll-job',
      'RunsTimedOut record-status',
    ]);
    expect(metrics.every((q) => q.metric!.period === 300)).toBe(true);
    // CloudWatch takes at most 10 metrics in an alarm's metric math.
    expect(alarm.metric_query.length).toBeLessThanOrEqual(10);
    expect(alarm.metric_query.at(-1)!.expression).toBe(`SUM([${metrics.map((q) => `FILL(${q.id}, 0)`).join(', ')}])`);
  });

  it('alarms on job state changes that job-events matched to no run request, given the job events rule', () => {
    const json = synthStack((stack) => new Monitoring(stack, 'monitoring', { ...props(stack), metricsNamespace: 'batch-gateway/bg', eventRules: [{ label: 'batch-events', ruleName: 'bg-batch-events' }] }));

    expect(alarmsOf(json)['job-events-unmatched']).toMatchObject({
      namespace: 'batch-gateway/bg',
      metric_name: 'JobEventsUnmatched',
      dimensions: { service: 'job-events' },
      statistic: 'Sum',
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      period: 300,
    });
    // Without the rule (polling mode) job-events is not deployed.
    expect(alarms['job-events-unmatched']).toBeUndefined();
  });

  it('alarms when EventBridge cannot deliver the events of a rule it is given', () => {
    const json = synthStack((stack) => new Monitoring(stack, 'monitoring', { ...props(stack), eventRules: [{ label: 'batch-events', ruleName: 'bg-batch-events' }] }));

    expect(alarmsOf(json)['batch-events-failed-invocations']).toMatchObject({
      namespace: 'AWS/Events',
      metric_name: 'FailedInvocations',
      dimensions: { RuleName: 'bg-batch-events' },
      statistic: 'Sum',
      threshold: 1,
    });
  });

  it("alarms on any message in a rule's failed-events queue, to the alarm topic (issue 17, fault 12)", () => {
    const json = synthStack((stack) => new Monitoring(stack, 'monitoring', { ...props(stack), eventRules: [{ label: 'batch-events', ruleName: 'bg-batch-events', failedEventsQueueName: 'bg-failed-events' }] }));

    expect(alarmsOf(json)['batch-events-failed-events']).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: 'bg-failed-events' },
      statistic: 'Maximum',
      comparison_operator: 'GreaterThanThreshold',
      threshold: 0,
      alarm_actions: [expect.stringMatching(/^\$\{aws_sns_topic\..*alarms.*\.arn\}$/)],
    });
    expect(alarms['batch-events-failed-events']).toBeUndefined();
  });

  it('encrypts the topic with a rotating customer-managed key that CloudWatch of this account may use', () => {
    const key = onlyResource(json, 'aws_kms_key');
    const topic = onlyResource(json, 'aws_sns_topic');
    const docs = json.data.aws_iam_policy_document as Record<string, { statement: Record<string, unknown>[] }>;
    const statements = Object.entries(docs).find(([id]) => id.includes('key-policy'))![1].statement;

    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\..*\.arn\}$/);
    expect(statements[1]).toMatchObject({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
      condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: ['${element(split(":", "arn:aws:dynamodb:eu-west-1:111122223333:table/bg"), 4)}'] }],
    });
  });

  it('lets only CloudWatch of this account publish to the topic', () => {
    const docs = json.data.aws_iam_policy_document as Record<string, { statement: Record<string, unknown>[] }>;
    const [statement] = Object.entries(docs).find(([id]) => id.includes('topic-policy'))![1].statement;

    expect(statement).toMatchObject({ actions: ['sns:Publish'], principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }] });
  });

  it('draws the pipeline flow on a dashboard', () => {
    const dashboard = onlyResource(json, 'aws_cloudwatch_dashboard');

    expect(dashboard.dashboard_body).toContain('Executions started');
    expect(dashboard.dashboard_body).toContain('Jobs submitted');
    expect(dashboard.dashboard_body).toContain('Requests at the API');
    // Outcomes summed over the functions that record them (events record most job ends).
    expect(dashboard.dashboard_body).toContain('SUM([FILL(runsfailed_job_events, 0), FILL(runsfailed_poll_job, 0), FILL(runsfailed_submit_job, 0), FILL(runsfailed_record_status, 0)])');
  });

  it('takes thresholds and an e-mail subscription', () => {
    const custom = synthStack((stack) => new Monitoring(stack, 'monitoring', { ...props(stack), thresholds: { api4xxCount: 500 }, alarmEmail: 'ops@example.com' }));

    expect(alarmsOf(custom)['api-4xx-surge']).toMatchObject({ threshold: 500 });
    expect(onlyResource(custom, 'aws_sns_topic_subscription')).toMatchObject({ protocol: 'email', endpoint: 'ops@example.com' });
  });

  it.each([
    [{ thresholds: { api5xxRate: 2 } }, 'thresholds.api5xxRate must be in (0, 1] (got 2)'],
    [{ thresholds: { lambdaErrors: 0 } }, 'thresholds.lambdaErrors must be positive (got 0)'],
    [{ functions: [] }, 'functions must list at least one function'],
  ])('rejects %j', (override, message) => {
    expect(() => synthStack((stack) => new Monitoring(stack, 'monitoring', { ...props(stack), ...override }))).toThrow(message);
  });

  it('rejects two functions with one construct id, whose alarms would share a name', () => {
    expect(() => synthStack((stack) => new Monitoring(stack, 'monitoring', { ...base, functions: [fn(stack, 'notify', 'a'), fn(new Construct(stack, 'other'), 'notify', 'b')] }))).toThrow(
      "two functions have the construct id 'notify'",
    );
  });
});
