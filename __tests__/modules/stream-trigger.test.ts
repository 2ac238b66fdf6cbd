import { TerraformVariable } from 'cdktf';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { IStateMachine, grantStartExecution } from '../../modules/shared/state-machine';
import { StreamTrigger, StreamTriggerProps } from '../../modules/stream-trigger';
import { readableReference } from '../../scripts/lib/plan-summary';
import { bundleHash, Json, Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, synthStack } from '../helpers/synth';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batch-gateway-run';

/** The smallest state machine the trigger accepts: an ARN and the standard grant. */
function fakeStateMachine(stateMachineArn = STATE_MACHINE_ARN): IStateMachine {
  return { stateMachineArn, grantStartExecution: (grantee) => grantStartExecution(grantee, stateMachineArn) };
}

type Options = Omit<StreamTriggerProps, 'table' | 'stateMachine'>;

/** Synthesizes a run-requests table (id `table`) and a `StreamTrigger` (id `trigger`) on its stream. */
function synthTrigger(options: Options = {}): Synthesized {
  return synthStack((stack) => {
    const table = new RunRequestsTable(stack, 'table');
    new StreamTrigger(stack, 'trigger', { table, stateMachine: fakeStateMachine(), ...options });
  });
}

/** The function's role as the plan review reads it. */
function functionRole(json: Synthesized) {
  return roleNamed(json, 'trigger-start-execution-role');
}

/** A reference as the role summaries print it (`aws_x.name.attr`). */
function readable(json: Synthesized, type: string, idPart: string, attribute: string): string {
  return readableReference(refTo(json, type, idPart, attribute));
}

describe('StreamTrigger (defaults)', () => {
  // Prepare + Act
  const json = synthTrigger();
  const mapping = onlyResource(json, 'aws_lambda_event_source_mapping');
  const queueArn = refTo(json, 'aws_sqs_queue', 'dead-letters', 'arn');

  describe('event source mapping', () => {
    it('reads the table stream from the start into the function', () => {
      // Assess
      expect(mapping.event_source_arn).toBe(refTo(json, 'aws_dynamodb_table', 'table', 'stream_arn'));
      expect(mapping.function_name).toBe(refTo(json, 'aws_lambda_function', 'start-execution', 'arn'));
      expect(mapping.starting_position).toBe('TRIM_HORIZON');
    });

    it('uses the default batch size, batching window and parallelization', () => {
      expect(mapping).toMatchObject({ batch_size: 10, maximum_batching_window_in_seconds: 1, parallelization_factor: 1 });
    });

    it('reports partial batch failures and bisects a failing batch', () => {
      expect(mapping.function_response_types).toEqual(['ReportBatchItemFailures']);
      expect(mapping.bisect_batch_on_function_error).toBe(true);
    });

    it('bounds retries and record age, so a poison record cannot block its shard', () => {
      expect(mapping.maximum_retry_attempts).toBe(5);
      expect(mapping.maximum_record_age_in_seconds).toBe(3600);
    });

    it('sends records that failed for good to the dead-letter queue', () => {
      expect(mapping.destination_config).toEqual({ on_failure: { destination_arn: queueArn } });
    });

    it('passes only INSERT records to the function', () => {
      const filters = mapping.filter_criteria.filter as Json[];
      expect(filters).toHaveLength(1);
      expect(JSON.parse(filters[0].pattern as string)).toEqual({ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['ACCEPTED'] } } } });
    });

    it("depends on every inline policy of the function's role", () => {
      const roleName = refTo(json, 'aws_iam_role', 'start-execution_role', 'name');
      const policies = Object.entries(resourcesOf(json, 'aws_iam_role_policy'))
        .filter(([, policy]) => policy.role === roleName)
        .map(([id]) => `aws_iam_role_policy.${id}`);
      expect(policies).toHaveLength(4);
      expect(mapping.depends_on).toEqual(expect.arrayContaining(policies));
    });
  });

  describe('dead-letter queue', () => {
    it('is encrypted with SQS-managed keys and keeps messages for 14 days', () => {
      expect(onlyResource(json, 'aws_sqs_queue')).toMatchObject({ sqs_managed_sse_enabled: true, message_retention_seconds: 1209600 });
    });

    it('has a policy that denies every request without TLS', () => {
      // Prepare
      const queuePolicy = onlyResource(json, 'aws_sqs_queue_policy');
      const docId = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(queuePolicy.policy as string)?.[1];
      // Act
      const doc = json.data.aws_iam_policy_document[docId!];
      // Assess
      expect(queuePolicy.queue_url).toBe(refTo(json, 'aws_sqs_queue', 'dead-letters', 'url'));
      expect(doc.statement).toEqual([
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          actions: ['sqs:*'],
          resources: [queueArn],
          principals: [{ type: '*', identifiers: ['*'] }],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ]);
    });
  });

  describe('function', () => {
    const fn = onlyResource(json, 'aws_lambda_function');

    it('runs Node.js 22 on arm64 from the bundle handler', () => {
      expect(fn).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler' });
      expect(fn.role).toBe(refTo(json, 'aws_iam_role', 'start-execution_role', 'arn'));
    });

    it('is told which state machine to start', () => {
      expect(fn.environment.variables.STATE_MACHINE_ARN).toBe(STATE_MACHINE_ARN);
    });

    it('logs JSON to its own log group, kept 30 days and created first', () => {
      expect(fn.logging_config).toEqual({ log_format: 'JSON', log_group: refTo(json, 'aws_cloudwatch_log_group', 'start-execution_logs', 'name') });
      expect(fn.depends_on).toContain(`aws_cloudwatch_log_group.${Object.keys(resourcesOf(json, 'aws_cloudwatch_log_group'))[0]}`);
      expect(onlyResource(json, 'aws_cloudwatch_log_group').retention_in_days).toBe(30);
    });

    it('deploys the zipped bundle from an asset with its hash', () => {
      expect(typeof fn.source_code_hash).toBe('string');
      expect(fn.source_code_hash).not.toBe('');
      expect(fn.filename).toMatch(/^assets\/.+\/start-execution\.zip$/);
      expect(fn.source_code_hash).toBe(bundleHash('start-execution'));
      expect(fn.filename).toContain(`/${fn.source_code_hash as string}/`);
    });
  });

  describe("function's role", () => {
    const role = functionRole(json);

    it('may do exactly what the trigger needs, each on the narrowest resource', () => {
      const sorted = [...role.statements].sort((a, b) => a.actions[0].localeCompare(b.actions[0]));
      expect(sorted).toEqual([
        {
          effect: 'Allow',
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          resources: [readable(json, 'aws_dynamodb_table', 'table', 'stream_arn')],
        },
        // ListStreams supports no resource-level permissions: "*" is the only resource it can be allowed on.
        { effect: 'Allow', actions: ['dynamodb:ListStreams'], resources: ['*'] },
        {
          effect: 'Allow',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${readable(json, 'aws_cloudwatch_log_group', 'start-execution_logs', 'arn')}:*`],
        },
        { effect: 'Allow', actions: ['sqs:SendMessage'], resources: [readable(json, 'aws_sqs_queue', 'dead-letters', 'arn')] },
        { effect: 'Allow', actions: ['states:StartExecution'], resources: [STATE_MACHINE_ARN] },
      ]);
    });

    it('has no wildcard action, and a * resource only for ListStreams', () => {
      role.statements.forEach((s) => {
        s.actions.forEach((action) => expect(action).not.toContain('*'));
        if (s.resources.includes('*')) expect(s).toEqual({ effect: 'Allow', actions: ['dynamodb:ListStreams'], resources: ['*'] });
      });
      expect(role.managedPolicies).toEqual([]);
    });

    it('is assumed by Lambda only', () => {
      expect(role.trustedBy).toEqual(['lambda.amazonaws.com']);
    });
  });
});

describe('StreamTrigger options', () => {
  it('passes batch size, window, parallelization, retries and record age to the mapping', () => {
    // Prepare + Act
    const json = synthTrigger({ batchSize: 100, maxBatchingWindowSeconds: 0, parallelizationFactor: 4, maxRetryAttempts: 0, maxRecordAgeSeconds: 60 });
    // Assess
    expect(onlyResource(json, 'aws_lambda_event_source_mapping')).toMatchObject({
      batch_size: 100,
      maximum_batching_window_in_seconds: 0,
      parallelization_factor: 4,
      maximum_retry_attempts: 0,
      maximum_record_age_in_seconds: 60,
    });
  });

  it('sets the dead-letter retention and the log retention', () => {
    const json = synthTrigger({ deadLetterRetentionSeconds: 86400, logRetentionDays: 7 });
    expect(onlyResource(json, 'aws_sqs_queue').message_retention_seconds).toBe(86400);
    expect(onlyResource(json, 'aws_cloudwatch_log_group').retention_in_days).toBe(7);
  });

  it('with tracing, turns on active tracing and still waits for every policy of the role', () => {
    const json = synthTrigger({ tracing: true });
    expect(onlyResource(json, 'aws_lambda_function').tracing_config).toEqual({ mode: 'Active' });
    expect(onlyResource(json, 'aws_lambda_event_source_mapping').depends_on).toContain(
      `aws_iam_role_policy.${Object.keys(resourcesOf(json, 'aws_iam_role_policy')).find((id) => id.includes('xray'))}`,
    );
  });

  it('grants StartExecution on whichever state machine it is given', () => {
    const other = 'arn:aws:states:eu-west-1:123456789012:stateMachine:other';
    const json = synthStack((stack) => {
      new StreamTrigger(stack, 'trigger', { table: new RunRequestsTable(stack, 'table'), stateMachine: fakeStateMachine(other) });
    });
    expect(functionRole(json).statements.filter((s) => s.actions.includes('states:StartExecution'))).toEqual([
      { effect: 'Allow', actions: ['states:StartExecution'], resources: [other] },
    ]);
    expect(resourceNamed(json, 'aws_lambda_function', 'start-execution').environment.variables.STATE_MACHINE_ARN).toBe(other);
  });
});

describe('StreamTrigger validation', () => {
  it.each<[string, Options, string]>([
    ['batchSize 0', { batchSize: 0 }, 'StreamTrigger: batchSize must be 1..10000 (got 0)'],
    ['batchSize 10001', { batchSize: 10001 }, 'StreamTrigger: batchSize must be 1..10000 (got 10001)'],
    ['a batching window of 301 s', { maxBatchingWindowSeconds: 301 }, 'StreamTrigger: maxBatchingWindowSeconds must be 0..300 (got 301)'],
    ['-1 (unbounded) retries', { maxRetryAttempts: -1 }, 'StreamTrigger: maxRetryAttempts must be 0..10000 (got -1)'],
    ['a maximum record age of 59 s', { maxRecordAgeSeconds: 59 }, 'StreamTrigger: maxRecordAgeSeconds must be 60..604800 (got 59)'],
    ['parallelization 11', { parallelizationFactor: 11 }, 'StreamTrigger: parallelizationFactor must be 1..10 (got 11)'],
    ['a dead-letter retention of 59 s', { deadLetterRetentionSeconds: 59 }, 'StreamTrigger: deadLetterRetentionSeconds must be 60..1209600 (got 59)'],
  ])('rejects %s', (_, options, message) => {
    expect(() => synthTrigger(options)).toThrow(message);
  });

  it('leaves an unresolved batchSize to Terraform', () => {
    expect(() =>
      synthStack((stack) => {
        const batchSize = new TerraformVariable(stack, 'batch_size', { type: 'number' }).numberValue;
        new StreamTrigger(stack, 'trigger', { table: new RunRequestsTable(stack, 'table'), stateMachine: fakeStateMachine(), batchSize });
      }),
    ).not.toThrow();
  });
});
