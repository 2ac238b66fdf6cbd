import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { Construct } from 'constructs';
import { BATCH_JOB_STATE_CHANGE, JOB_EVENT_STATUSES } from '../../contract';
import { LambdaFunction } from '../shared/lambda-function';
import { assertProp, physicalName } from '../shared/naming';

export interface JobEventsProps {
  /** The queues whose jobs end runs of the gateway: the rule takes their events only. */
  readonly jobQueueArns: string[];
  /** The function the events are delivered to (job-events). */
  readonly target: LambdaFunction;
}

/**
 * Batch's job state changes of the gateway's queues, delivered to job-events: an EventBridge rule
 * for `aws.batch` / `Batch Job State Change` (running and ended jobs), its Lambda target, and the
 * permission for this rule alone to invoke the function.
 */
export class JobEvents extends Construct {
  public readonly ruleName: string;
  public readonly ruleArn: string;

  constructor(scope: Construct, id: string, props: JobEventsProps) {
    super(scope, id);
    assertProp(props.jobQueueArns.length > 0, 'JobEvents: jobQueueArns must list at least one queue');

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
    new CloudwatchEventTarget(this, 'target', {
      rule: rule.name,
      arn: props.target.functionArn,
      // A delivery EventBridge cannot make (Lambda throttled) is retried for an hour; after that
      // the state machine's safety-net checks see the job's end.
      retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
    });
    new LambdaPermission(this, 'permission', {
      action: 'lambda:InvokeFunction',
      functionName: props.target.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
    this.ruleName = rule.name;
    this.ruleArn = rule.arn;
  }
}

/** Wakes waiting executions: SendTaskSuccess supports no resource-level permission (only "*"); the token itself names the task. */
export function grantSendTaskSuccess(fn: LambdaFunction): void {
  fn.addToRolePolicy('send-task-success', [{ actions: ['states:SendTaskSuccess'], resources: ['*'] }]);
}
