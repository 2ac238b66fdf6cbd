import { Testing } from 'cdktf';
import { BatchGatewayStack, configFromEnv, OFFLINE_PLAN_PROVIDER_SETTINGS } from '../../main';
import { parseSynth, resourcesOf, rolesOf, Synthesized } from '../helpers/synth';

function synthDefault(env: Record<string, string> = {}): Synthesized {
  const app = Testing.app();
  const stack = new BatchGatewayStack(app, 'batch-gateway', configFromEnv(env));
  return parseSynth(stack);
}

describe('configFromEnv', () => {
  it('defaults to IAM auth, Fargate, a created network and a local backend', () => {
    const config = configFromEnv({});

    expect(config).toMatchObject({
      region: 'us-east-1',
      offlinePlan: false,
      authorization: 'AWS_IAM',
      computeType: 'FARGATE',
      logRetentionDays: 30,
      manageApiGatewayAccount: true,
    });
    expect(config.network).toBeUndefined();
    expect(config.cloud).toBeUndefined();
  });

  it('reads an existing network, Terraform Cloud settings and numbers', () => {
    const config = configFromEnv({
      AWS_REGION: 'eu-west-1',
      BATCH_GATEWAY_SUBNET_IDS: 'subnet-0abc, subnet-0def',
      BATCH_GATEWAY_SECURITY_GROUP_IDS: 'sg-0123',
      BATCH_GATEWAY_MAX_VCPUS: '64',
      TF_CLOUD_ORGANIZATION: 'acme',
      TF_WORKSPACE: 'batch-gateway-prod',
    });

    expect(config.region).toBe('eu-west-1');
    expect(config.network).toEqual({ subnetIds: ['subnet-0abc', 'subnet-0def'], securityGroupIds: ['sg-0123'], assignPublicIp: false });
    expect(config.maxVcpus).toBe(64);
    expect(config.cloud).toEqual({ organization: 'acme', workspace: 'batch-gateway-prod', hostname: undefined });
  });

  it.each([
    [{ BATCH_GATEWAY_AUTH: 'NONE' }, 'BATCH_GATEWAY_AUTH'],
    [{ BATCH_GATEWAY_LOG_RETENTION_DAYS: '10' }, 'BATCH_GATEWAY_LOG_RETENTION_DAYS: must be one of 1, 3, 5'],
    [{ BATCH_GATEWAY_MAX_VCPUS: 'many' }, 'BATCH_GATEWAY_MAX_VCPUS'],
    [{ BATCH_GATEWAY_SUBNET_IDS: 'subnet-0abc' }, 'set both BATCH_GATEWAY_SUBNET_IDS and BATCH_GATEWAY_SECURITY_GROUP_IDS'],
    [{ BATCH_GATEWAY_SUBNET_IDS: 'vpc-1', BATCH_GATEWAY_SECURITY_GROUP_IDS: 'sg-1' }, 'must be subnet ids'],
    [{ TF_CLOUD_ORGANIZATION: 'acme' }, 'Terraform Cloud needs both TF_CLOUD_ORGANIZATION and TF_WORKSPACE'],
    [{ AWS_REGION: 'Europe' }, "AWS_REGION: must be an AWS region such as eu-west-1 (got 'Europe')"],
    [{ BATCH_GATEWAY_OFFLINE_PLAN: 'yes' }, 'BATCH_GATEWAY_OFFLINE_PLAN'],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => configFromEnv(env as Record<string, string>)).toThrow(message);
  });

  it('lists every bad variable in one message', () => {
    expect(() => configFromEnv({ BATCH_GATEWAY_AUTH: 'x', BATCH_GATEWAY_MAX_VCPUS: '0' })).toThrow(/BATCH_GATEWAY_AUTH[\s\S]*BATCH_GATEWAY_MAX_VCPUS/);
  });
});

describe('BatchGatewayStack (default configuration)', () => {
  const json = synthDefault();

  it('tags every resource through the provider default tags and sets no offline flags', () => {
    const [provider] = json.provider!.aws;

    expect(provider.region).toBe('us-east-1');
    expect(provider.default_tags).toEqual([{ tags: { Project: 'batch-gateway', Environment: 'dev', ManagedBy: 'cdktf' } }]);
    for (const key of ['access_key', 'secret_key', 'skip_credentials_validation', 'skip_requesting_account_id', 'skip_metadata_api_check']) {
      expect(provider).not.toHaveProperty(key);
    }
  });

  it('uses a local backend when Terraform Cloud is not configured', () => {
    expect(json.terraform!.backend).toEqual({ local: { path: 'terraform.batch-gateway.tfstate' } });
  });

  it('pins the AWS provider that the bindings were generated for', () => {
    expect(json.terraform!.required_providers.aws).toEqual({ source: 'aws', version: '5.100.0' });
  });

  it('composes one of each module', () => {
    expect(Object.keys(resourcesOf(json, 'aws_api_gateway_rest_api'))).toHaveLength(1);
    // Run requests and WebSocket connections.
    expect(Object.keys(resourcesOf(json, 'aws_dynamodb_table'))).toHaveLength(2);
    expect(Object.keys(resourcesOf(json, 'aws_apigatewayv2_api'))).toHaveLength(1);
    expect(Object.keys(resourcesOf(json, 'aws_s3_bucket'))).toHaveLength(1);
    // Run failures (notifications) and alarms (monitoring).
    expect(Object.keys(resourcesOf(json, 'aws_sns_topic'))).toHaveLength(2);
    expect(Object.keys(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(resourcesOf(json, 'aws_lambda_event_source_mapping'))).toHaveLength(1);
    expect(Object.keys(resourcesOf(json, 'aws_batch_job_queue'))).toHaveLength(1);
    expect(Object.keys(resourcesOf(json, 'aws_vpc'))).toHaveLength(1);
    const [machine] = Object.values(resourcesOf(json, 'aws_sfn_state_machine'));
    expect(machine.name).toBe('batch-gateway-orchestration');
    expect(Object.keys(JSON.parse(machine.definition).States)).toEqual(expect.arrayContaining(['Route sample', 'Route barcode', 'Notify client', 'Alert failure']));
  });

  it('gives Fargate tasks a public IP in the network it creates (no NAT gateway)', () => {
    const [definition] = Object.values(resourcesOf(json, 'aws_batch_job_definition'));
    expect(JSON.parse(definition.container_properties).networkConfiguration).toEqual({ assignPublicIp: 'ENABLED' });
    expect(resourcesOf(json, 'aws_nat_gateway')).toEqual({});
  });

  it('outputs the API and WebSocket URLs, table, queue, dead-letter queue, bucket and failure topic', () => {
    expect(Object.keys(json.output ?? {}).sort()).toEqual(
      [
        'alarm_topic_arn',
        'api_url',
        'artifacts_bucket',
        'dashboard_name',
        'failure_topic_arn',
        'job_queue_arn',
        'run_requests_table_name',
        'run_requests_url',
        'state_machine_arn',
        'stream_dead_letter_queue_url',
        'websocket_url',
      ].sort(),
    );
  });

  it('uses only data sources that work without AWS credentials', () => {
    expect(Object.keys(json.data).sort()).toEqual(['aws_iam_policy_document', 'aws_region']);
  });

  it('grants no wildcard action, and a wildcard resource only to APIs without resource-level permissions', () => {
    // Each of these APIs is documented with no resource types in the Service Authorization Reference.
    const noResourceLevel = new Set([
      'logs:DescribeLogGroups',
      'batch:DescribeJobs',
      'batch:ListJobs',
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
    ]);
    const statements = rolesOf(json).flatMap((r) => r.statements);
    expect(statements.length).toBeGreaterThan(5);
    for (const s of statements) {
      for (const action of s.actions) expect(action).not.toMatch(/\*/);
      if (s.resources.includes('*')) {
        expect(s.resources).toEqual(['*']);
        for (const action of s.actions) expect(noResourceLevel).toContain(action);
      }
    }
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(resourcesOf(json, 'aws_cloudwatch_log_group'));
    // REST and WebSocket access logs, jobs, state machine, and one per Lambda (8).
    expect(groups.length).toBe(12);
    for (const g of groups) expect(g.retention_in_days).toBe(30);
  });

  it('encrypts the table and the dead-letter queue', () => {
    const [table] = Object.values(resourcesOf(json, 'aws_dynamodb_table'));
    const [queue] = Object.values(resourcesOf(json, 'aws_sqs_queue'));
    expect(table.server_side_encryption).toEqual({ enabled: true });
    expect(queue.sqs_managed_sse_enabled).toBe(true);
  });
});

describe('BatchGatewayStack (variants)', () => {
  it('adds the offline-plan provider settings only in offline-plan mode', () => {
    const json = synthDefault({ BATCH_GATEWAY_OFFLINE_PLAN: '1' });
    const [provider] = json.provider!.aws;

    expect(provider).toMatchObject({
      access_key: OFFLINE_PLAN_PROVIDER_SETTINGS.accessKey,
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: 'true',
      skip_region_validation: true,
      max_retries: 1,
    });
    expect(json.terraform!.backend).toHaveProperty('local');
  });

  it('uses a Terraform Cloud backend when its settings are present', () => {
    const json = synthDefault({ TF_CLOUD_ORGANIZATION: 'acme', TF_WORKSPACE: 'bg-prod' });

    expect(json.terraform!.cloud).toEqual({ organization: 'acme', workspaces: { name: 'bg-prod' } });
    expect(json.terraform!.backend).toBeUndefined();
  });

  it('runs jobs in an existing network without creating one', () => {
    const json = synthDefault({ BATCH_GATEWAY_SUBNET_IDS: 'subnet-0aaa,subnet-0bbb', BATCH_GATEWAY_SECURITY_GROUP_IDS: 'sg-0ccc' });
    const [environment] = Object.values(resourcesOf(json, 'aws_batch_compute_environment'));
    const [definition] = Object.values(resourcesOf(json, 'aws_batch_job_definition'));

    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
    expect(environment.compute_resources.subnets).toEqual(['subnet-0aaa', 'subnet-0bbb']);
    expect(environment.compute_resources.security_group_ids).toEqual(['sg-0ccc']);
    expect(JSON.parse(definition.container_properties).networkConfiguration).toEqual({ assignPublicIp: 'DISABLED' });
  });

  it('creates a usage plan and an API key output with API-key auth', () => {
    const json = synthDefault({ BATCH_GATEWAY_AUTH: 'API_KEY' });

    expect(Object.keys(resourcesOf(json, 'aws_api_gateway_usage_plan'))).toHaveLength(1);
    expect(json.output).toHaveProperty('api_key_id');
  });

  it('leaves monitoring out when asked', () => {
    const json = synthDefault({ BATCH_GATEWAY_MONITORING: 'false' });

    expect(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).toEqual({});
    expect(json.output).not.toHaveProperty('alarm_topic_arn');
  });

  it('leaves the account-level API Gateway setting alone when asked', () => {
    const json = synthDefault({ BATCH_GATEWAY_MANAGE_APIGW_ACCOUNT: 'false' });

    expect(resourcesOf(json, 'aws_api_gateway_account')).toEqual({});
  });
});
