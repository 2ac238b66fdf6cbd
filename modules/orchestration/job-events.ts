import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import { denyInsecureTransport } from '../shared/iam';
import { BATCH_JOB_STATE_CHANGE, JOB_EVENT_STATUSES } from '../../contract';
import { LambdaFunction } from '../shared/lambda-function';
import { assertLiteral, assertProp, physicalName } from '../shared/naming';

export interface JobEventsProps {
  /** The queues whose jobs end runs of the gateway: the rule takes their events only. */
  readonly jobQueueArns: string[];
  /** The function the events are delivered to (job-events). */
  readonly target: LambdaFunction;
  /** How long an event no one could handle stays in the failed-events queue (60..1209600 s). @default 1209600 (14 days) */
  readonly failedEventsRetentionSeconds?: number;
}

/** Lambda's own limits for an asynchronous invocation: at most 2 retries of a function error, events at most 6 hours old. */
const ASYNC_RETRY_ATTEMPTS = 2;
const ASYNC_MAX_EVENT_AGE_SECONDS = 21600;

/**
 * Batch's job state changes of the gateway's queues, delivered to job-events: an EventBridge rule
 * for `aws.batch` / `Batch Job State Change` (running and ended jobs), its Lambda target, the
 * permission for this rule alone to invoke the function, and an encrypted queue for the events
 * that were never handled: those EventBridge could not hand to Lambda (the target's dead-letter
 * queue) and those job-events failed on after Lambda's retries (the on-failure destination).
 */
export class JobEvents extends Construct {
  public readonly ruleName: string;
  public readonly ruleArn: string;
  /** Events neither EventBridge nor Lambda could get handled (a record each, kept 14 days by default). */
  public readonly failedEventsQueueArn: string;
  public readonly failedEventsQueueUrl: string;
  public readonly failedEventsQueueName: string;

  constructor(scope: Construct, id: string, props: JobEventsProps) {
    super(scope, id);
    assertProp(props.jobQueueArns.length > 0, 'JobEvents: jobQueueArns must list at least one queue');
    const retention = props.failedEventsRetentionSeconds ?? 1209600;
    assertLiteral(retention, (v) => Number.isInteger(v) && v >= 60 && v <= 1209600, `JobEvents: failedEventsRetentionSeconds must be a whole number of seconds from 60 to 1209600 (got ${retention})`);

    const rule = new CloudwatchEventRule(this, 'rule', {
      name: physicalName(this),
      description: 'batch-gateway: the state changes of the gateway jobs',
      eventPattern: JSON.stringify({
        source: [BATCH_JOB_STATE_CHANGE.source],
        'detail-type': [BATCH_JOB_STATE_CHANGE.detailType],
        // No tags in the pattern: events may carry none (job-events finds the run by the job name).
        detail: { jobQueue: props.jobQueueArns, status: [...JOB_EVENT_STATUSES] },
      }),
    });
    const failed = new SqsQueue(this, 'failed-events', {
      name: physicalName(this, 'failed-events', 80),
      messageRetentionSeconds: retention,
      sqsManagedSseEnabled: true,
    });
    const failedPolicy = new DataAwsIamPolicyDocument(this, 'failed-events-policy-document', {
      statement: [
        denyInsecureTransport('sqs', [failed.arn]),
        {
          // The target's dead-letter queue: EventBridge sends as itself, for this rule only.
          sid: 'RuleDeadLetters',
          effect: 'Allow',
          actions: ['sqs:SendMessage'],
          resources: [failed.arn],
          principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
          condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [rule.arn] }],
        },
      ],
    });
    const queuePolicy = new SqsQueuePolicy(this, 'failed-events-policy', { queueUrl: failed.url, policy: failedPolicy.json });
    this.failedEventsQueueArn = failed.arn;
    this.failedEventsQueueUrl = failed.url;
    this.failedEventsQueueName = failed.name;

    new CloudwatchEventTarget(this, 'target', {
      rule: rule.name,
      arn: props.target.functionArn,
      // EventBridge invokes Lambda asynchronously: once Lambda has queued the event, EventBridge is
      // done with it. This policy covers only an Invoke that Lambda refuses (the function or its
      // permission gone, the service unavailable); what is still refused after it goes to the queue.
      retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
      deadLetterConfig: { arn: failed.arn },
      dependsOn: [queuePolicy],
    });
    new LambdaPermission(this, 'permission', {
      action: 'lambda:InvokeFunction',
      functionName: props.target.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
    // From Lambda's own queue, Lambda (not EventBridge) retries: a throttled event for up to 6
    // hours, a function error twice; then the event goes to the queue, with the error, instead of
    // being dropped. Lambda sends it with the function's role. Meanwhile the run's safety-net check
    // still finds the job's end, only later.
    props.target.addToRolePolicy('failed-events', [{ actions: ['sqs:SendMessage'], resources: [failed.arn] }]);
    new LambdaFunctionEventInvokeConfig(this, 'async-invocation', {
      functionName: props.target.functionName,
      maximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: ASYNC_MAX_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: failed.arn } },
      // Lambda checks that the role may send to the destination when the configuration is put.
      dependsOn: props.target.role.policies,
    });
    this.ruleName = rule.name;
    this.ruleArn = rule.arn;
  }
}

/** Wakes waiting executions: SendTaskSuccess supports no resource-level permission (only "*"); the token itself names the task. */
export function grantSendTaskSuccess(fn: LambdaFunction): void {
  fn.addToRolePolicy('send-task-success', [{ actions: ['states:SendTaskSuccess'], resources: ['*'] }]);
}
