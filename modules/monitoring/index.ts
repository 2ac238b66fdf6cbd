import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Fn } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { OUTCOME_RECORDERS, SERVICE_DIMENSION, UNMATCHED_JOB_EVENTS_METRIC, UNMATCHED_JOB_EVENTS_SERVICE } from '../../contract';
import { assertProp, fitName, metricsNamespaceOf, physicalName, regionOf } from '../shared/naming';

/** Alarm thresholds; each alarm looks at 5-minute periods. */
export interface AlarmThresholds {
  /** Share of API requests answered 5XX (0..1). @default 0.05 */
  readonly api5xxRate: number;
  /** API 4XX answers in 5 minutes (a client gone wrong, or an attack). @default 100 */
  readonly api4xxCount: number;
  /** Age of the oldest stream record the trigger has not processed, in ms. @default 60000 */
  readonly streamIteratorAgeMs: number;
  /** Errors of any one function in 5 minutes. @default 1 */
  readonly lambdaErrors: number;
  /** Throttles of any one function in 5 minutes. @default 1 */
  readonly lambdaThrottles: number;
  /** Executions failed, timed out or throttled in 5 minutes. @default 1 */
  readonly executionsFailed: number;
  /** Runs recorded FAILED or TIMED_OUT in 5 minutes. @default 1 */
  readonly runsFailed: number;
  /** Job state changes job-events matched to no run request, in 5 minutes. @default 1 */
  readonly unmatchedJobEvents: number;
}

const DEFAULT_THRESHOLDS: AlarmThresholds = {
  api5xxRate: 0.05,
  api4xxCount: 100,
  streamIteratorAgeMs: 60000,
  lambdaErrors: 1,
  lambdaThrottles: 1,
  executionsFailed: 1,
  runsFailed: 1,
  unmatchedJobEvents: 1,
};

/** A function to watch: a {@link LambdaFunction} of the gateway, or any construct with a function name. */
export interface IMonitoredFunction extends IConstruct {
  readonly functionName: string;
}

export interface MonitoringProps {
  /** The REST API (name and stage) whose errors are watched. */
  readonly api: { readonly apiName: string; readonly stageName: string };
  /** The stream trigger's function and its dead-letter queue. */
  readonly streamTrigger: { readonly functionName: string; readonly deadLetterQueueName: string };
  /** The orchestration state machine. */
  readonly stateMachineArn: string;
  /** Every function whose errors and throttles are watched; alarms name each by its construct id. */
  readonly functions: readonly IMonitoredFunction[];
  /** Any ARN of this stack's account (the key policy names the account without a lookup). */
  readonly accountArn: string;
  /** @default - the defaults of {@link AlarmThresholds} */
  readonly thresholds?: Partial<AlarmThresholds>;
  /** E-mail subscribed to the alarm topic. @default - none */
  readonly alarmEmail?: string;
  /** Namespace of the pipeline's own metrics. @default - the gateway's (`batch-gateway/<namePrefix>`), or `batch-gateway` outside a gateway */
  readonly metricsNamespace?: string;
  /**
   * EventBridge rules of the orchestration's job state changes, each with a label for its alarm's
   * name: their failed deliveries are alarmed, any message in their failed-events queue (events
   * neither EventBridge nor Lambda got handled), and, when there is any rule, the events job-events
   * matched to no run request. @default - none
   */
  readonly eventRules?: readonly { readonly label: string; readonly ruleName: string; readonly failedEventsQueueName?: string }[];
}

/**
 * Alarms on every stage of the pipeline, all notifying one encrypted SNS topic, and a dashboard
 * of its flow. The topic's key is customer-managed: CloudWatch cannot publish to a topic
 * encrypted with the AWS-managed `aws/sns` key.
 */
export class Monitoring extends Construct {
  public readonly alarmTopicArn: string;
  public readonly dashboardName: string;
  public readonly alarmNames: string[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const t = { ...DEFAULT_THRESHOLDS, ...(props.thresholds ?? {}) };
    assertProp(t.api5xxRate > 0 && t.api5xxRate <= 1, `Monitoring: thresholds.api5xxRate must be in (0, 1] (got ${t.api5xxRate})`);
    for (const [key, value] of Object.entries(t)) {
      assertProp(typeof value === 'number' && value > 0, `Monitoring: thresholds.${key} must be positive (got ${value})`);
    }
    assertProp(props.functions.length > 0, 'Monitoring: functions must list at least one function');
    const labels = props.functions.map((f) => f.node.id);
    const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
    assertProp(repeated === undefined, `Monitoring: two functions have the construct id '${repeated}'; alarm names would collide`);
    const namespace = props.metricsNamespace ?? metricsNamespaceOf(this);
    const name = physicalName(this);
    const region = regionOf(this);
    const arnParts = Fn.split(':', props.accountArn);
    const partition = Fn.element(arnParts, 1);
    const account = Fn.element(arnParts, 4);

    const keyPolicy = new DataAwsIamPolicyDocument(this, 'key-policy', {
      statement: [
        {
          sid: 'AccountAdministersTheKeyThroughIam',
          // The default key policy: without it no IAM policy could ever manage the key.
          actions: ['kms:*'],
          resources: ['*'],
          principals: [{ type: 'AWS', identifiers: [`arn:${partition}:iam::${account}:root`] }],
        },
        {
          sid: 'AlarmsPublishToTheEncryptedTopic',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          // In a key policy, "*" is the key itself.
          resources: ['*'],
          principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [account] }],
        },
      ],
    });
    const key = new KmsKey(this, 'key', {
      description: 'batch-gateway alarm topic',
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: keyPolicy.json,
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${fitName(name, 200)}-alarms`, targetKeyId: key.keyId });
    const topic = new SnsTopic(this, 'alarms', { name: physicalName(this, 'alarms', 256), displayName: 'batch-gateway alarms', kmsMasterKeyId: key.arn });
    const topicPolicy = new DataAwsIamPolicyDocument(this, 'topic-policy', {
      statement: [
        {
          sid: 'AlarmsOfThisAccountPublish',
          actions: ['sns:Publish'],
          resources: [topic.arn],
          principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [account] }],
        },
      ],
    });
    new SnsTopicPolicy(this, 'alarms-policy', { arn: topic.arn, policy: topicPolicy.json });
    if (props.alarmEmail) new SnsTopicSubscription(this, 'alarms-email', { topicArn: topic.arn, protocol: 'email', endpoint: props.alarmEmail });
    this.alarmTopicArn = topic.arn;

    const alarm = (alarmId: string, description: string, spec: Partial<CloudwatchMetricAlarmConfig> & Pick<CloudwatchMetricAlarmConfig, 'comparisonOperator'>) => {
      const alarmName = fitName(`${name}-${alarmId}`, 255);
      new CloudwatchMetricAlarm(this, `alarm-${alarmId}`, {
        alarmName,
        alarmDescription: description,
        alarmActions: [topic.arn],
        okActions: [topic.arn],
        treatMissingData: 'notBreaching',
        evaluationPeriods: 1,
        // Metric-math alarms carry their period in each query.
        period: spec.metricQuery ? undefined : 300,
        ...spec,
      });
      this.alarmNames.push(alarmName);
    };
    const apiDimensions = { ApiName: props.api.apiName, Stage: props.api.stageName };
    alarm('api-5xx-rate', `More than ${t.api5xxRate * 100}% of API requests failed with 5XX`, {
      namespace: 'AWS/ApiGateway', metricName: '5XXError', dimensions: apiDimensions, statistic: 'Average', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.api5xxRate,
    });
    alarm('api-4xx-surge', `At least ${t.api4xxCount} API requests rejected with 4XX in 5 minutes`, {
      namespace: 'AWS/ApiGateway', metricName: '4XXError', dimensions: apiDimensions, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.api4xxCount,
    });
    alarm('stream-iterator-age', 'The stream trigger is falling behind: new run requests wait to start', {
      namespace: 'AWS/Lambda', metricName: 'IteratorAge', dimensions: { FunctionName: props.streamTrigger.functionName }, statistic: 'Maximum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.streamIteratorAgeMs,
    });
    alarm('stream-dead-letters', 'A stream batch failed every retry: redrive it (npm run redrive)', {
      namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: props.streamTrigger.deadLetterQueueName }, statistic: 'Maximum', comparisonOperator: 'GreaterThanThreshold', threshold: 0,
    });
    for (const [metricName, what] of [
      // A recorded outcome (a failed job included) ends its execution Succeeded: these are the gateway's faults.
      ['ExecutionsFailed', 'failed'],
      ['ExecutionsTimedOut', 'timed out'],
      ['ExecutionThrottled', 'throttled'],
    ] as const) {
      alarm(`executions-${metricName.toLowerCase()}`, `Orchestration executions ${what}`, {
        namespace: 'AWS/States', metricName, dimensions: { StateMachineArn: props.stateMachineArn }, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.executionsFailed,
      });
    }
    // Every function that records an outcome counts it under its own service: the alarm sums them.
    const outcomes = (['RunsFailed', 'RunsTimedOut'] as const).flatMap((metricName) =>
      OUTCOME_RECORDERS[metricName].map((service) => ({ id: `${metricName}_${service}`.replace(/-/g, '_').toLowerCase(), metricName, service })),
    );
    alarm('runs-failed', 'Run requests ended FAILED or TIMED_OUT (Batch jobs failed, or orchestration errors)', {
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: t.runsFailed,
      metricQuery: [
        ...outcomes.map(({ id, metricName, service }) => ({ id, metric: { namespace, metricName, dimensions: { [SERVICE_DIMENSION]: service }, stat: 'Sum', period: 300 } })),
        { id: 'notSucceeded', expression: `SUM([${outcomes.map(({ id }) => `FILL(${id}, 0)`).join(', ')}])`, label: 'Runs failed or timed out', returnData: true },
      ],
    });
    for (const { label, ruleName, failedEventsQueueName } of props.eventRules ?? []) {
      // A rule whose target cannot be invoked (a permission gone, the function deleted) leaves every
      // run to the safety-net checks: slower, and silent without this alarm.
      alarm(`${label}-failed-invocations`, `EventBridge could not deliver the events of ${label} to its target: runs end only at their safety-net checks`, {
        namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensions: { RuleName: ruleName }, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: 1,
      });
      if (failedEventsQueueName !== undefined) {
        alarm(`${label}-failed-events`, `Job state changes of ${label} were never handled (docs/operations.md: inspect the failed-events queue): their runs end only at their safety-net checks`, {
          namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: failedEventsQueueName }, statistic: 'Maximum', comparisonOperator: 'GreaterThanThreshold', threshold: 0,
        });
      }
    }
    if ((props.eventRules ?? []).length > 0) {
      // An event job-events cannot tie to a run leaves that run to its safety-net check (or is a job
      // in a gateway queue that no run records): either way, silent without this alarm.
      alarm('job-events-unmatched', 'Job state changes matched no run request: their runs end only at their safety-net checks (see the job-events logs)', {
        namespace, metricName: UNMATCHED_JOB_EVENTS_METRIC, dimensions: { [SERVICE_DIMENSION]: UNMATCHED_JOB_EVENTS_SERVICE }, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.unmatchedJobEvents,
      });
    }
    for (const { node, functionName } of props.functions) {
      const label = node.id;
      alarm(`${label}-errors`, `Lambda ${label} raised errors`, {
        namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: { FunctionName: functionName }, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.lambdaErrors,
      });
      alarm(`${label}-throttles`, `Lambda ${label} was throttled`, {
        namespace: 'AWS/Lambda', metricName: 'Throttles', dimensions: { FunctionName: functionName }, statistic: 'Sum', comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: t.lambdaThrottles,
      });
    }

    const metric = (ns: string, metricName: string, dims: Record<string, string>, label: string, stat = 'Sum') => [ns, metricName, ...Object.entries(dims).flat(), { label, stat }];
    const serviceMetric = (metricName: string, service: string, label: string) => metric(namespace, metricName, { [SERVICE_DIMENSION]: service }, label);
    // One line per outcome: its recorders' metrics, hidden, and their sum.
    const summedOverRecorders = (metricName: keyof typeof OUTCOME_RECORDERS, label: string) => {
      const ids = OUTCOME_RECORDERS[metricName].map((service) => `${metricName}_${service}`.replace(/-/g, '_').toLowerCase());
      return [
        ...OUTCOME_RECORDERS[metricName].map((service, i) => [namespace, metricName, SERVICE_DIMENSION, service, { id: ids[i], visible: false, stat: 'Sum' }]),
        [{ expression: `SUM([${ids.map((id) => `FILL(${id}, 0)`).join(', ')}])`, label, id: `${metricName.toLowerCase()}_total` }],
      ];
    };
    const dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: fitName(name, 255),
      dashboardBody: Fn.jsonencode({
        widgets: [
          {
            type: 'metric', x: 0, y: 0, width: 24, height: 6,
            properties: {
              title: 'Pipeline flow: accepted → started → submitted → finished',
              region: region, view: 'timeSeries', stacked: false, period: 300,
              metrics: [
                metric('AWS/ApiGateway', 'Count', apiDimensions, 'Requests at the API'),
                metric('AWS/States', 'ExecutionsStarted', { StateMachineArn: props.stateMachineArn }, 'Executions started'),
                serviceMetric('JobsSubmitted', 'submit-job', 'Jobs submitted'),
                ...summedOverRecorders('RunsSucceeded', 'Runs succeeded'),
                ...summedOverRecorders('RunsFailed', 'Runs failed'),
                ...summedOverRecorders('RunsTimedOut', 'Runs timed out'),
                serviceMetric('RunsRejected', 'record-status', 'Requests rejected'),
              ],
            },
          },
          {
            type: 'metric', x: 0, y: 6, width: 12, height: 6,
            properties: {
              title: 'Oldest new request not yet started (stream iterator age)',
              region: region, view: 'timeSeries', period: 60,
              metrics: [metric('AWS/Lambda', 'IteratorAge', { FunctionName: props.streamTrigger.functionName }, 'Iterator age (ms)', 'Maximum')],
            },
          },
          {
            type: 'alarm', x: 12, y: 6, width: 12, height: 6,
            properties: { title: 'Alarms', alarms: this.alarmNames.map((n) => `arn:${partition}:cloudwatch:${region}:${account}:alarm:${n}`) },
          },
        ],
      }),
    });
    this.dashboardName = dashboard.dashboardName;
  }
}
