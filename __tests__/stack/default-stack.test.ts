import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdktf';
import { ConfigurationError, parseConfig } from '../../app/config';
import defaultConfig from '../../batch-gateway.config';
import { FUNCTION_ENVIRONMENT, FunctionName } from '../../contract';
import { GatewayStack, OFFLINE_PLAN_PROVIDER_SETTINGS, synthesize } from '../../main';
import { devConfig, parseSynth, physicalNames, resourcesOf, rolesOf, synthDev } from '../helpers/synth';

describe('parseConfig', () => {
  it('reads the repository configuration: dev, with its prefix, region and three routes', () => {
    const [dev, ...others] = parseConfig(defaultConfig);

    expect(others).toEqual([]);
    expect(dev).toMatchObject({ name: 'dev', region: 'us-east-1', tags: {} });
    expect(dev.gateway.namePrefix).toBe('batch-gateway-dev');
    expect(Object.keys(dev.gateway.routes)).toEqual(['sample', 'sample-timeout', 'barcode']);
    expect(dev.cloud).toBeUndefined();
  });

  it('names the prefix after the environment when none is given', () => {
    const [env] = parseConfig({ environments: { staging: { region: 'eu-west-1', routes: { a: { image: 'busybox' } } } } });

    expect(env.gateway.namePrefix).toBe('batch-gateway-staging');
  });

  it.each([
    [{ region: 'Europe' }, "environments.dev.region: must be an AWS region such as eu-west-1 (got \"Europe\")"],
    [{ logRetentionDays: 10 }, 'environments.dev.logRetentionDays: must be one of 1, 3, 5'],
    [{ existingNetwork: { subnetIds: ['vpc-1'], securityGroupIds: ['sg-1'], egress: 'nat' } }, 'environments.dev.existingNetwork.subnetIds.0: must be subnet ids (got "vpc-1")'],
    [{ authorization: 'NONE' }, 'environments.dev.authorization'],
    [{ routes: {} }, 'environments.dev.routes: must name at least one route'],
    [{ retention: 3 }, 'Unrecognized key: "retention"'],
    [{ failureEmail: 'nobody' }, 'environments.dev.failureEmail: must be an e-mail address (got "nobody")'],
  ])('rejects %j with a message naming the setting', (change, message) => {
    expect(() => parseConfig(devConfig((dev) => Object.assign(dev, change)))).toThrow(message);
  });

  describe('existingNetwork.egress (issue 17, fault 4)', () => {
    const subnets = { subnetIds: ['subnet-0aaa'], securityGroupIds: ['sg-0bbb'] };
    const linesFor = (existingNetwork: unknown): string[] => {
      try {
        parseConfig(devConfig((dev) => Object.assign(dev, { existingNetwork })));
      } catch (err) {
        return (err as Error).message.split('\n').slice(1);
      }
      return ['accepted'];
    };
    const RULE =
      "must say how the jobs reach ECR, CloudWatch Logs and S3: 'nat' (the subnets route to a NAT gateway), 'public-ip' (public subnets: each Fargate task gets a public IP) or " +
      "'vpc-endpoints' (no route out: the VPC has endpoints for ecr.api, ecr.dkr, logs and an S3 gateway endpoint)";

    it('is required, and names what it may be', () => {
      expect(linesFor(subnets)).toEqual([`  environments.dev.existingNetwork.egress: ${RULE}`]);
      expect(linesFor({ ...subnets, egress: 'internet' })).toEqual([`  environments.dev.existingNetwork.egress: ${RULE} (got "internet")`]);
      expect(linesFor({ ...subnets, egress: 'nat' })).toEqual(['accepted']);
      expect(linesFor({ ...subnets, egress: 'nat', assignPublicIp: true })).toEqual([
        `  environments.dev.existingNetwork: Unrecognized key: "assignPublicIp" (existingNetwork takes subnetIds, securityGroupIds and egress; egress: 'public-ip' gives each Fargate task a public IP)`,
      ]);
    });

    it("refuses every route's ECR Public image with vpc-endpoints, with BatchGateway's words", () => {
      const image = 'public.ecr.aws/docker/library/busybox:1.36';
      const line = (route: string) =>
        `  environments.dev.routes.${route}.image: must be an image a VPC endpoint serves, such as a private ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), since existingNetwork.egress is 'vpc-endpoints' (got "${image}"): ` +
        "no VPC endpoint serves ECR Public (public.ecr.aws); mirror the image to a private ECR repository, or route the subnets through a NAT gateway (existingNetwork.egress: 'nat')";

      expect(linesFor({ ...subnets, egress: 'vpc-endpoints' })).toEqual([line('sample'), line('sample-timeout')]);
    });

    it('takes the commented prod example of batch-gateway.config.ts as it stands: NAT egress for its ECR Public image', () => {
      const text = readFileSync(path.join(__dirname, '..', '..', 'batch-gateway.config.ts'), 'utf8');
      const block = /\n {4}\/\/ prod: (\{[\s\S]*?\n {4}\/\/ \}),/.exec(text)![1].replace(/\n {4}\/\/ ?/g, '\n');
      const [dev] = parseConfig(defaultConfig);
      const prod = new Function('sample', `return ${block};`)(dev.gateway.routes.sample);

      expect(prod.existingNetwork).toEqual({ subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'], egress: 'nat' });
      expect(() => parseConfig({ environments: { prod } })).not.toThrow();
      expect(() => parseConfig({ environments: { prod: { ...prod, existingNetwork: { ...prod.existingNetwork, egress: 'vpc-endpoints' } } } })).toThrow(
        "environments.prod.routes.sample.image: must be an image a VPC endpoint serves",
      );
    });
  });

  it('lists every bad value in one message', () => {
    const config = devConfig((dev) => Object.assign(dev, { region: 'x', maxVcpus: 0, authorization: 'NONE' }));

    expect(() => parseConfig(config)).toThrow(ConfigurationError);
    expect(() => parseConfig(config)).toThrow(/region[\s\S]*authorization[\s\S]*maxVcpus|region[\s\S]*maxVcpus[\s\S]*authorization/);
  });
});

describe('the dev stack (repository configuration)', () => {
  const json = synthDev();

  it('tags every resource through the provider default tags and sets no offline flags', () => {
    const [provider] = json.provider!.aws;

    expect(provider.region).toBe('us-east-1');
    expect(provider.default_tags).toEqual([{ tags: { Project: 'batch-gateway', Environment: 'dev', ManagedBy: 'cdktf' } }]);
    for (const key of ['access_key', 'secret_key', 'skip_credentials_validation', 'skip_requesting_account_id', 'skip_metadata_api_check']) {
      expect(provider).not.toHaveProperty(key);
    }
  });

  it('keeps its state in a local file named after the environment when no Terraform Cloud workspace is configured', () => {
    expect(json.terraform!.backend).toEqual({ local: { path: 'terraform.dev.tfstate' } });
  });

  it('pins the AWS provider that the bindings were generated for', () => {
    expect(json.terraform!.required_providers.aws).toEqual({ source: 'aws', version: '5.100.0' });
  });

  it('composes one gateway: one of each module', () => {
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
    expect(machine.name).toBe('batch-gateway-dev-orchestration');
    expect(Object.keys(JSON.parse(machine.definition).States)).toEqual(expect.arrayContaining(['Route sample', 'Route barcode', 'Notify client', 'Alert failure']));
  });

  it('starts every physical name with the environment prefix, and ends IAM names with the region', () => {
    const names = physicalNames(json).map((n) => n.slice(n.indexOf(':') + 1));

    expect(names.length).toBeGreaterThan(40);
    for (const name of names) expect(name).toMatch(/^(\/aws\/[a-z-]+\/(states\/)?)?(alias\/)?batch-gateway-dev-/);
    for (const role of Object.values(resourcesOf(json, 'aws_iam_role'))) expect(role.name).toMatch(/-\$\{data\.aws_region\.batch-gateway-region\.name\}$/);
  });

  it('creates the sample job definitions with an attempt timeout equal to their route deadline (at least Batch minimum of 60 s)', () => {
    const definitions = Object.fromEntries(Object.values(resourcesOf(json, 'aws_batch_job_definition')).map((d) => [d.name, d]));
    const definition = definitions['batch-gateway-dev-batch-sample'];

    expect(definition.timeout).toEqual({ attempt_duration_seconds: 3600 });
    // The timeout example's route ends its runs at 30 s; Batch takes nothing under 60.
    expect(definitions['batch-gateway-dev-batch-sample-timeout'].timeout).toEqual({ attempt_duration_seconds: 60 });
    expect(JSON.parse(definition.container_properties).networkConfiguration).toEqual({ assignPublicIp: 'ENABLED' });
    expect(resourcesOf(json, 'aws_nat_gateway')).toEqual({});
  });

  it('gives every function the environment its handler reads (contract/functions.ts), and the gateway metrics namespace', () => {
    const functions = Object.values(resourcesOf(json, 'aws_lambda_function'));

    expect(functions).toHaveLength(10);
    for (const fn of functions) {
      const variables = fn.environment.variables as Record<string, string>;
      const bundle = variables.POWERTOOLS_SERVICE_NAME as FunctionName;
      expect(Object.keys(variables).sort()).toEqual([...FUNCTION_ENVIRONMENT[bundle]].sort());
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('batch-gateway/batch-gateway-dev');
    }
  });

  it('alarms on the metrics in the namespace the functions write to', () => {
    const alarm = Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).find((a) => String(a.alarm_name).endsWith('runs-failed'))!;
    const namespaces = new Set((alarm.metric_query as { metric?: { namespace: string } }[]).flatMap((q) => (q.metric ? [q.metric.namespace] : [])));

    expect(namespaces).toEqual(new Set(['batch-gateway/batch-gateway-dev']));
  });

  it('outputs what an operator needs', () => {
    expect(Object.keys(json.output ?? {}).sort()).toEqual(
      [
        'alarm_topic_arn',
        'api_url',
        'artifacts_bucket',
        'dashboard_name',
        'failure_topic_arn',
        'job_events_failed_queue_url',
        'job_queue_arn',
        'run_requests_table_name',
        'run_requests_url',
        'state_machine_arn',
        'stream_dead_letter_queue_url',
        'websocket_execution_arn',
        'websocket_url',
      ].sort(),
    );
  });

  it('outputs the queue of job state changes never handled, and alarms on its depth (issue 17, fault 12)', () => {
    const [queueId] = Object.keys(resourcesOf(json, 'aws_sqs_queue')).filter((id) => id.includes('failed-events'));
    const alarm = Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).find((a) => String(a.alarm_name).endsWith('batch-events-failed-events'))!;

    expect(json.output!.job_events_failed_queue_url.value).toBe(`\${aws_sqs_queue.${queueId}.url}`);
    expect(alarm).toMatchObject({ metric_name: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: `\${aws_sqs_queue.${queueId}.name}` }, threshold: 0 });
  });

  it("outputs the WebSocket API's execution ARN, which callers' execute-api:Invoke on <arn>/<stage>/$connect names (issue 17, fault 12)", () => {
    const [apiId] = Object.keys(resourcesOf(json, 'aws_apigatewayv2_api'));

    expect(json.output!.websocket_execution_arn.value).toBe(`\${aws_apigatewayv2_api.${apiId}.execution_arn}`);
  });

  it('uses only data sources that work without AWS credentials', () => {
    expect(Object.keys(json.data).sort()).toEqual(['aws_iam_policy_document', 'aws_partition', 'aws_region']);
    expect(Object.keys(json.data.aws_region)).toEqual(['batch-gateway-region']);
    expect(json.data.aws_partition).toEqual({ 'batch-gateway-partition': {} });
  });

  it('grants no wildcard action, and a wildcard resource only to APIs without resource-level permissions', () => {
    // Each of these APIs is documented with no resource types in the Service Authorization Reference.
    const noResourceLevel = new Set([
      'dynamodb:ListStreams',
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
      'states:SendTaskSuccess',
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
    // REST and WebSocket access logs, jobs, state machine, and one per Lambda (10).
    expect(groups.length).toBe(14);
    for (const g of groups) expect(g.retention_in_days).toBe(30);
  });

  it('encrypts the table and the dead-letter queue', () => {
    const [table] = Object.values(resourcesOf(json, 'aws_dynamodb_table'));
    const [queue] = Object.values(resourcesOf(json, 'aws_sqs_queue'));
    expect(table.server_side_encryption).toEqual({ enabled: true });
    expect(queue.sqs_managed_sse_enabled).toBe(true);
  });
});

describe('the dev stack (variants)', () => {
  it('adds the offline-plan provider settings and a local backend only in offline-plan mode', () => {
    const json = synthDev((dev) => Object.assign(dev, { cloud: { organization: 'acme', workspace: 'bg-dev' } }), { offlinePlan: true });
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
    expect(json.terraform!.cloud).toBeUndefined();
  });

  it('keeps its state in the Terraform Cloud workspace the environment names', () => {
    const json = synthDev((dev) => Object.assign(dev, { cloud: { organization: 'acme', workspace: 'bg-dev' } }));

    expect(json.terraform!.cloud).toEqual({ organization: 'acme', workspaces: { name: 'bg-dev' } });
    expect(json.terraform!.backend).toBeUndefined();
  });

  it('adds the environment tags to the default ones', () => {
    const json = synthDev((dev) => Object.assign(dev, { tags: { CostCenter: '42' } }));

    expect(json.provider!.aws[0].default_tags).toEqual([{ tags: { Project: 'batch-gateway', Environment: 'dev', ManagedBy: 'cdktf', CostCenter: '42' } }]);
  });

  it('runs jobs in an existing network without creating one', () => {
    const json = synthDev((dev) => Object.assign(dev, { existingNetwork: { subnetIds: ['subnet-0aaa', 'subnet-0bbb'], securityGroupIds: ['sg-0ccc'], egress: 'nat' } }));
    const [environment] = Object.values(resourcesOf(json, 'aws_batch_compute_environment'));
    const [definition] = Object.values(resourcesOf(json, 'aws_batch_job_definition'));

    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
    expect(environment.compute_resources.subnets).toEqual(['subnet-0aaa', 'subnet-0bbb']);
    expect(environment.compute_resources.security_group_ids).toEqual(['sg-0ccc']);
    expect(JSON.parse(definition.container_properties).networkConfiguration).toEqual({ assignPublicIp: 'DISABLED' });
  });

  it('uses an existing run-requests table instead of creating one', () => {
    const existingTable = {
      tableName: 'shared-run-requests',
      tableArn: 'arn:aws:dynamodb:us-east-1:111122223333:table/shared-run-requests',
      streamArn: 'arn:aws:dynamodb:us-east-1:111122223333:table/shared-run-requests/stream/2026-01-01T00:00:00.000',
    };
    const json = synthDev((dev) => Object.assign(dev, { existingTable }));
    const tables = Object.values(resourcesOf(json, 'aws_dynamodb_table')).map((t) => t.name);

    expect(tables).toEqual(['batch-gateway-dev-notifications-connections']);
    expect(Object.values(resourcesOf(json, 'aws_lambda_event_source_mapping'))[0].event_source_arn).toBe(existingTable.streamArn);
  });

  it('creates a usage plan and an API key output with API-key auth', () => {
    const json = synthDev((dev) => Object.assign(dev, { authorization: 'API_KEY' }));

    expect(Object.keys(resourcesOf(json, 'aws_api_gateway_usage_plan'))).toHaveLength(1);
    expect(json.output).toHaveProperty('api_key_id');
  });

  it('leaves monitoring out when asked', () => {
    const json = synthDev((dev) => Object.assign(dev, { monitoring: false }));

    expect(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).toEqual({});
    expect(json.output).not.toHaveProperty('alarm_topic_arn');
  });

  it('leaves the account-level API Gateway setting alone when asked', () => {
    const json = synthDev((dev) => Object.assign(dev, { manageApiGatewayAccount: false }));

    expect(resourcesOf(json, 'aws_api_gateway_account')).toEqual({});
  });

  it('stops on a bad route with the construct message (what the configuration schema cannot know)', () => {
    expect(() => synthDev((dev) => Object.assign(dev.routes.sample, { vcpus: 3 }))).toThrow("job definition 'sample': Fargate vcpu must be one of 0.25, 0.5, 1, 2, 4, 8, 16 (got 3)");
  });
});

describe('two environments', () => {
  const config = devConfig();
  Object.assign(config.environments, { prod: { ...structuredClone(config.environments.dev), namePrefix: 'batch-gateway-prod', region: 'eu-west-1' } });
  const app = Testing.app();
  const [dev, prod] = parseConfig(config).map((env) => parseSynth(new GatewayStack(app, env)));

  it('are two stacks that share no physical name', () => {
    const devNames = physicalNames(dev);
    const shared = physicalNames(prod).filter((name) => devNames.includes(name));

    expect(devNames.length).toBeGreaterThan(40);
    expect(shared).toEqual([]);
  });

  it('each keep their own state and region', () => {
    expect(dev.terraform!.backend).toEqual({ local: { path: 'terraform.dev.tfstate' } });
    expect(prod.terraform!.backend).toEqual({ local: { path: 'terraform.prod.tfstate' } });
    expect(prod.provider!.aws[0].region).toBe('eu-west-1');
  });

  it('are synthesized side by side into cdktf.out/stacks/<environment>', () => {
    const app2 = synthesize({ outdir: Testing.app().outdir, config });

    expect(app2.node.children.map((c) => c.node.id)).toEqual(['dev', 'prod']);
  });
});
