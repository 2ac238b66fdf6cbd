import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { Construct } from 'constructs';
import { denyInsecureTransport } from '../shared/iam';
import { ENV } from '../../contract';
import { IRunRequestsTable } from '../api-ingest/table';
import { LambdaFunction } from '../shared/lambda-function';
import { assertLiteral, physicalName } from '../shared/naming';
import { IStateMachine } from '../shared/state-machine';

export interface StreamTriggerProps {
  /** Table whose stream carries new run requests. */
  readonly table: IRunRequestsTable;
  /** State machine started once per new run request. */
  readonly stateMachine: IStateMachine;
  /** Records per invocation (1..10000). @default 10 */
  readonly batchSize?: number;
  /** Seconds to gather a batch (0..300). @default 1 */
  readonly maxBatchingWindowSeconds?: number;
  /** Retries of a failing batch before its records go to the dead-letter queue (0..10000). @default 5 */
  readonly maxRetryAttempts?: number;
  /** Records older than this go to the dead-letter queue instead of being retried (60..604800). @default 3600 */
  readonly maxRecordAgeSeconds?: number;
  /** Concurrent batches per shard (1..10). @default 1 */
  readonly parallelizationFactor?: number;
  /** How long failure records stay in the dead-letter queue (60..1209600 s). @default 1209600 (14 days) */
  readonly deadLetterRetentionSeconds?: number;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * Starts one state machine execution per new run request, from the table's stream: only INSERT
 * records, partial batch failures, bisect on error, bounded retries, and an encrypted
 * dead-letter queue, so that a poison record never blocks its shard and is never lost.
 */
export class StreamTrigger extends Construct {
  public readonly function: LambdaFunction;
  public readonly deadLetterQueueArn: string;
  public readonly deadLetterQueueUrl: string;
  public readonly deadLetterQueueName: string;
  public readonly eventSourceMappingUuid: string;

  constructor(scope: Construct, id: string, props: StreamTriggerProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
    const window = props.maxBatchingWindowSeconds ?? 1;
    const retries = props.maxRetryAttempts ?? 5;
    const maxAge = props.maxRecordAgeSeconds ?? 3600;
    const parallelization = props.parallelizationFactor ?? 1;
    const dlqRetention = props.deadLetterRetentionSeconds ?? 1209600;
    assertLiteral(batchSize, (v) => v >= 1 && v <= 10000, `StreamTrigger: batchSize must be 1..10000 (got ${batchSize})`);
    assertLiteral(window, (v) => v >= 0 && v <= 300, `StreamTrigger: maxBatchingWindowSeconds must be 0..300 (got ${window})`);
    assertLiteral(retries, (v) => v >= 0 && v <= 10000, `StreamTrigger: maxRetryAttempts must be 0..10000 (got ${retries}); unbounded retries would block a shard`);
    assertLiteral(maxAge, (v) => v >= 60 && v <= 604800, `StreamTrigger: maxRecordAgeSeconds must be 60..604800 (got ${maxAge})`);
    assertLiteral(parallelization, (v) => v >= 1 && v <= 10, `StreamTrigger: parallelizationFactor must be 1..10 (got ${parallelization})`);
    assertLiteral(dlqRetention, (v) => v >= 60 && v <= 1209600, `StreamTrigger: deadLetterRetentionSeconds must be 60..1209600 (got ${dlqRetention})`);

    const dlq = new SqsQueue(this, 'dead-letters', {
      name: physicalName(this, 'dead-letters', 80),
      messageRetentionSeconds: dlqRetention,
      sqsManagedSseEnabled: true,
    });
    const tlsOnly = new DataAwsIamPolicyDocument(this, 'dead-letters-tls-only', {
      statement: [
        denyInsecureTransport('sqs', [dlq.arn]),
      ],
    });
    new SqsQueuePolicy(this, 'dead-letters-policy', { queueUrl: dlq.url, policy: tlsOnly.json });
    this.deadLetterQueueArn = dlq.arn;
    this.deadLetterQueueUrl = dlq.url;
    this.deadLetterQueueName = dlq.name;

    this.function = new LambdaFunction(this, 'start-execution', {
      bundle: 'start-execution',
      description: 'Starts one Step Functions execution per new run request',
      environment: {
        [ENV.stateMachineArn]: props.stateMachine.stateMachineArn,
        [ENV.serviceName]: 'start-execution',
      },
      timeoutSeconds: 60,
      logRetentionDays: props.logRetentionDays,
      tracing: props.tracing,
    });
    const role = this.function.role;
    props.table.grantStreamRead(role);
    props.stateMachine.grantStartExecution(role);
    // The event source mapping sends failure records to the queue with the function's role.
    role.addToPolicy('dead-letters', [{ actions: ['sqs:SendMessage'], resources: [dlq.arn] }]);

    const mapping = new LambdaEventSourceMapping(this, 'mapping', {
      eventSourceArn: props.table.streamArn,
      functionName: this.function.functionArn,
      // Everything the stream still holds: a request written before the mapping existed starts too.
      startingPosition: 'TRIM_HORIZON',
      batchSize,
      maximumBatchingWindowInSeconds: window,
      parallelizationFactor: parallelization,
      functionResponseTypes: ['ReportBatchItemFailures'],
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: retries,
      maximumRecordAgeInSeconds: maxAge,
      destinationConfig: { onFailure: { destinationArn: dlq.arn } },
      // New run requests only: every one is written ACCEPTED; the Idempotency-Key items beside them hold no status.
      filterCriteria: { filter: [{ pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['ACCEPTED'] } } } }) }] },
      // Lambda checks the role's stream and queue permissions when the mapping is created.
      dependsOn: role.policies,
    });
    this.eventSourceMappingUuid = mapping.uuid;
  }
}
