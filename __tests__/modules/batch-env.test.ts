import { TerraformVariable } from 'cdktf';
import { assertRetryRules, BatchEnvironment, BatchEnvironmentProps, ComputeType, ecrRepositoryArnOf, infrastructureRetryRules, JobDefinitionSpec, RetryRule } from '../../modules/batch-env';
import { ServiceRole } from '../../modules/shared/iam';
import { readableReference } from '../../scripts/lib/plan-summary';
import { Json, Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, synthStack } from '../helpers/synth';

const HELLO: JobDefinitionSpec = {
  name: 'hello',
  image: 'public.ecr.aws/docker/library/busybox:1.36',
  command: ['echo', 'Ref::who'],
  parameters: { who: 'world' },
};
const BASE: BatchEnvironmentProps = {
  subnetIds: ['subnet-aaa', 'subnet-bbb'],
  securityGroupIds: ['sg-111'],
  egress: 'nat',
  jobDefinitions: [HELLO],
};
const QUEUE_ARN = 'arn:aws:batch:eu-west-1:123456789012:job-queue/test-batch-queue';

/** Synthesizes one `BatchEnvironment` with id `batch` from `BASE` overridden by `props`. */
function synthBatch(props: Partial<BatchEnvironmentProps> = {}): Synthesized {
  return synthStack((stack) => {
    new BatchEnvironment(stack, 'batch', { ...BASE, ...props });
  });
}

/** Deferred construction, for `toThrow`. */
function buildBatch(props: Partial<BatchEnvironmentProps>): () => void {
  return () => synthBatch(props);
}

/** Job definitions: `HELLO` with each spec's overrides. */
function jobs(...specs: Partial<JobDefinitionSpec>[]): Partial<BatchEnvironmentProps> {
  return { jobDefinitions: specs.map((s) => ({ ...HELLO, ...s })) };
}

/** The parsed `container_properties` of the job definition whose id contains `job-<route>`. */
function containerOf(json: Synthesized, route = 'hello'): Json {
  return JSON.parse(resourceNamed(json, 'aws_batch_job_definition', `job-${route}`).container_properties as string) as Json;
}

/** Statements in a stable order (the role summary lists policies in logical-id order). */
function byAction<T extends { actions: string[] }>(statements: T[]): T[] {
  return [...statements].sort((a, b) => a.actions[0].localeCompare(b.actions[0]));
}

/** A reference as the role summaries print it (`aws_x.name.attr`). */
function readable(json: Synthesized, type: string, idPart: string, attribute: string): string {
  return readableReference(refTo(json, type, idPart, attribute));
}

/**
 * Evaluates `${replace(<ref>, "<pattern>", "<replacement>")}` the way Terraform would, with `<ref>`
 * standing for `value`: HCL string escapes first (Terraform rejects any escape other than
 * \n \r \t \" \\ \uNNNN \UNNNNNNNN; this reading has no need for the last two and rejects them
 * too), then a `/regex/` pattern.
 */
function evaluateReplace(expression: string, ref: string, value: string): string {
  const m = /^\$\{replace\(([^,]+), "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\)\}$/.exec(expression);
  if (!m) throw new Error(`not a replace() expression: ${expression}`);
  expect(`\${${m[1]}}`).toBe(ref);
  const hcl = (literal: string): string =>
    literal.replace(/\\(.)/g, (_, c: string) => {
      const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
      if (!(c in escapes)) throw new Error(`Terraform: Invalid escape sequence "\\${c}" in ${JSON.stringify(literal)}`);
      return escapes[c];
    });
  const pattern = hcl(m[2]);
  const replacement = hcl(m[3]);
  const regex = /^\/(.*)\/$/.exec(pattern);
  return regex ? value.replace(new RegExp(regex[1]), replacement) : value.split(pattern).join(replacement);
}

describe('BatchEnvironment without a network', () => {
  const json = synthBatch({ subnetIds: undefined, securityGroupIds: undefined, egress: undefined });

  it('creates a minimal network and runs its compute environment there', () => {
    const [environment] = Object.values(resourcesOf(json, 'aws_batch_compute_environment'));

    expect(Object.keys(resourcesOf(json, 'aws_vpc'))).toHaveLength(1);
    expect(environment.compute_resources.subnets).toEqual([expect.stringMatching(/^\$\{aws_subnet\.batch_network_public-0_/), expect.stringMatching(/^\$\{aws_subnet\.batch_network_public-1_/)]);
    expect(environment.compute_resources.security_group_ids).toEqual([expect.stringMatching(/^\$\{aws_security_group\.batch_network_jobs-sg_/)]);
  });

  it('gives Fargate tasks a public IP there, since the network has no NAT gateway', () => {
    expect(containerOf(json).networkConfiguration).toEqual({ assignPublicIp: 'ENABLED' });
    expect(resourcesOf(json, 'aws_nat_gateway')).toEqual({});
  });
});

describe('BatchEnvironment on an existing queue', () => {
  let batch!: BatchEnvironment;
  const json = synthStack((stack) => {
    batch = new BatchEnvironment(stack, 'batch', { jobQueueArn: QUEUE_ARN, jobDefinitions: [HELLO] });
    const role = new ServiceRole(stack, 'submitter', { servicePrincipal: 'lambda.amazonaws.com' });
    batch.existingJobDefinitionTarget('team-report').grantSubmit(role);
  });

  it('creates the job definitions only: no compute environment, queue or network', () => {
    expect(resourcesOf(json, 'aws_batch_compute_environment')).toEqual({});
    expect(resourcesOf(json, 'aws_batch_job_queue')).toEqual({});
    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
    expect(Object.keys(resourcesOf(json, 'aws_batch_job_definition'))).toHaveLength(1);
    expect(batch.jobQueueArn).toBe(QUEUE_ARN);
    expect(batch.computeEnvironmentArn).toBeUndefined();
  });

  it("submits to a job definition registered elsewhere, granted by the ARN derived from the queue's", () => {
    const submit = roleNamed(json, 'submitter').statements.find((s) => s.actions.includes('batch:SubmitJob'))!;

    expect(batch.existingJobDefinitionTarget('team-report').jobDefinition).toBe('team-report');
    expect(submit.resources).toEqual([QUEUE_ARN, `replace("${QUEUE_ARN}", "/job-queue/.*$/", "job-definition/team-report"):*`]);
  });

  it('refuses an ARN where a job definition name belongs', () => {
    expect(() => batch.existingJobDefinitionTarget('arn:aws:batch:eu-west-1:1:job-definition/x:1')).toThrow(/is not a job definition name/);
  });
});

describe('BatchEnvironment on Fargate (defaults)', () => {
  // Prepare + Act
  const json = synthBatch();
  const compute = onlyResource(json, 'aws_batch_compute_environment');

  it('creates a managed compute environment with a name prefix, replaced before it is destroyed', () => {
    // Assess
    expect(compute.type).toBe('MANAGED');
    expect(compute.state).toBe('ENABLED');
    expect(compute.compute_environment_name_prefix).toBe('test-batch-');
    expect(compute.compute_environment_name).toBeUndefined();
    expect(compute.lifecycle).toEqual({ create_before_destroy: true });
  });

  it('runs on FARGATE with the default max vCPUs in the given subnets and security groups', () => {
    expect(compute.compute_resources).toEqual({
      type: 'FARGATE',
      max_vcpus: 16,
      subnets: ['subnet-aaa', 'subnet-bbb'],
      security_group_ids: ['sg-111'],
    });
  });

  it('puts no tags inside compute_resources and sets no service role (the service-linked role is used)', () => {
    expect(compute.compute_resources.tags).toBeUndefined();
    expect(compute.service_role).toBeUndefined();
  });

  it('creates no instance role or instance profile', () => {
    expect(resourcesOf(json, 'aws_iam_instance_profile')).toEqual({});
    expect(resourcesOf(json, 'aws_iam_role_policy_attachment')).toEqual({});
  });

  it('has a queue that orders the compute environment by its ARN', () => {
    const queue = onlyResource(json, 'aws_batch_job_queue');
    expect(queue).toMatchObject({ name: 'test-batch-queue', state: 'ENABLED', priority: 1 });
    expect(queue.compute_environment_order).toEqual([
      { order: 1, compute_environment: refTo(json, 'aws_batch_compute_environment', 'compute', 'arn') },
    ]);
  });

  it('keeps job logs in its own log group for 30 days', () => {
    expect(onlyResource(json, 'aws_cloudwatch_log_group')).toEqual({ name: '/aws/batch/test-batch', retention_in_days: 30 });
  });

  describe('job definition', () => {
    const definition = resourceNamed(json, 'aws_batch_job_definition', 'job-hello');
    const container = containerOf(json);

    it('is a Fargate container job named after the route', () => {
      expect(definition.type).toBe('container');
      expect(definition.name).toBe('test-batch-hello');
      expect(definition.platform_capabilities).toEqual(['FARGATE']);
    });

    it('runs the image and command with the default vCPU and memory', () => {
      expect(container.image).toBe(HELLO.image);
      expect(container.command).toEqual(['echo', 'Ref::who']);
      expect(container.resourceRequirements).toEqual([
        { type: 'VCPU', value: '0.25' },
        { type: 'MEMORY', value: '512' },
      ]);
    });

    it('uses the created execution role and the created job role', () => {
      expect(container.executionRoleArn).toBe(refTo(json, 'aws_iam_role', 'execution-role', 'arn'));
      expect(container.jobRoleArn).toBe(refTo(json, 'aws_iam_role', 'job-role-hello', 'arn'));
    });

    it('logs with awslogs to the module log group, with the route name as stream prefix', () => {
      expect(container.logConfiguration).toEqual({
        logDriver: 'awslogs',
        options: {
          'awslogs-group': refTo(json, 'aws_cloudwatch_log_group', 'batch_logs', 'name'),
          'awslogs-region': `\${data.aws_region.${Object.keys(json.data.aws_region)[0]}.name}`,
          'awslogs-stream-prefix': 'hello',
        },
      });
    });

    it('sets the Fargate platform version and no public IP by default', () => {
      expect(container.fargatePlatformConfiguration).toEqual({ platformVersion: 'LATEST' });
      expect(container.networkConfiguration).toEqual({ assignPublicIp: 'DISABLED' });
    });

    it('retries infrastructure failures and ends with an EXIT catch-all', () => {
      const strategy = definition.retry_strategy;
      expect(strategy.attempts).toBe(2);
      const rules = strategy.evaluate_on_exit as Json[];
      expect(rules.slice(0, -1).every((r) => r.action === 'RETRY')).toBe(true);
      expect(rules[rules.length - 1]).toEqual({ action: 'EXIT', on_reason: '*' });
    });

    it("times attempts out after a day (the orchestration's default deadline), passes default parameters and propagates tags", () => {
      expect(definition.timeout).toEqual({ attempt_duration_seconds: 86400 });
      expect(definition.parameters).toEqual({ who: 'world' });
      expect(definition.propagate_tags).toBe(true);
    });
  });

  it('lets the execution role do exactly CreateLogStream/PutLogEvents on the log group streams', () => {
    const role = roleNamed(json, 'batch-execution');
    expect(role.trustedBy).toEqual(['ecs-tasks.amazonaws.com']);
    expect(role.statements).toEqual([
      {
        effect: 'Allow',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${readable(json, 'aws_cloudwatch_log_group', 'batch_logs', 'arn')}:*`],
      },
    ]);
    expect(role.managedPolicies).toEqual([]);
  });

  it('creates a job role with no permissions and exposes it as jobRoles', () => {
    let env: BatchEnvironment | undefined;
    const own = synthStack((stack) => {
      env = new BatchEnvironment(stack, 'batch', BASE);
    });
    const role = roleNamed(own, 'batch-job-hello');
    expect(role.trustedBy).toEqual(['ecs-tasks.amazonaws.com']);
    expect(role.statements).toEqual([]);
    expect(Object.keys(env!.jobRoles)).toEqual(['hello']);
  });
});

/** Batch's glob: exact, or a prefix when the pattern ends with `*` (an absent value read as empty, so `*` takes everything). */
function globMatches(pattern: string | undefined, given: string | undefined): boolean {
  if (pattern === undefined) return true;
  const value = given ?? '';
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** What Batch does with a failed attempt under `rules` (synthesized, snake_case): the first entry all of whose patterns match; RETRY when none does. */
function batchDecision(rules: Json[], attempt: { statusReason?: string; reason?: string; exitCode?: number }): string {
  const hit = rules.find(
    (r) => globMatches(r.on_status_reason, attempt.statusReason) && globMatches(r.on_reason, attempt.reason) && globMatches(r.on_exit_code, attempt.exitCode?.toString()),
  );
  return hit ? String(hit.action) : 'RETRY';
}

describe('BatchEnvironment retry rules', () => {
  const rulesOf = (computeType: ComputeType): Json[] => onlyResource(synthBatch({ computeType, ...(computeType.includes('FARGATE') ? {} : jobs({ vcpu: 1, memoryMiB: 2048 })) }), 'aws_batch_job_definition').retry_strategy.evaluate_on_exit as Json[];
  const SPOT_TASK = { statusReason: 'Your Spot Task was interrupted.', reason: 'Essential container in task exited', exitCode: 143 };

  it('retries a reclaimed Fargate Spot task', () => {
    expect(batchDecision(rulesOf('FARGATE_SPOT'), SPOT_TASK)).toBe('RETRY');
  });

  it('retries a reclaimed EC2 Spot instance (Host EC2 … terminated)', () => {
    expect(batchDecision(rulesOf('SPOT'), { statusReason: 'Host EC2 (instance i-0123456789abcdef0) terminated.' })).toBe('RETRY');
  });

  it.each<ComputeType>(['FARGATE', 'FARGATE_SPOT'])('retries a ResourceInitializationError in the status reason, where ECS puts it on %s', (computeType) => {
    const attempt = { statusReason: 'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed' };
    expect(batchDecision(rulesOf(computeType), attempt)).toBe('RETRY');
  });

  it.each<ComputeType>(['FARGATE', 'FARGATE_SPOT', 'EC2', 'SPOT'])("ends on the command's own non-zero exit on %s", (computeType) => {
    expect(batchDecision(rulesOf(computeType), { statusReason: 'Essential container in task exited', reason: 'Essential container in task exited', exitCode: 1 })).toBe('EXIT');
  });

  it.each<ComputeType>(['FARGATE', 'FARGATE_SPOT', 'EC2', 'SPOT'])('keeps within the 5 entries and the patterns Batch takes on %s', (computeType) => {
    const rules = infrastructureRetryRules(computeType);
    expect(rules.length).toBeLessThanOrEqual(5);
    expect(() => assertRetryRules(rules, 'test')).not.toThrow();
  });

  it('rejects a sixth evaluateOnExit entry', () => {
    const six: RetryRule[] = [...[...Array(5)].map((): RetryRule => ({ onReason: 'x*', action: 'RETRY' })), { onReason: '*', action: 'EXIT' }];
    expect(() => assertRetryRules(six, 'test')).toThrow('test: a retry strategy takes at most 5 evaluateOnExit entries (got 6)');
  });

  it('rejects patterns Batch refuses: other characters, a * before the end, over 512 characters', () => {
    expect(() => assertRetryRules([{ onStatusReason: 'Host EC2 (instance*', action: 'RETRY' }], 'test')).toThrow(
      "test: evaluateOnExit onStatusReason 'Host EC2 (instance*' may hold only letters, numbers, periods, colons and white space, with '*' at the end only",
    );
    expect(() => assertRetryRules([{ onReason: '*Error', action: 'RETRY' }], 'test')).toThrow("onReason '*Error' may hold only");
    expect(() => assertRetryRules([{ onExitCode: '1a', action: 'EXIT' }], 'test')).toThrow("onExitCode '1a' may hold only digits");
    expect(() => assertRetryRules([{ onReason: 'a'.repeat(513), action: 'RETRY' }], 'test')).toThrow('onReason is at most 512 characters (got 513)');
    expect(() => assertRetryRules([{ onReason: 'a'.repeat(511) + '*', action: 'RETRY' }], 'test')).not.toThrow();
  });
});

describe('BatchEnvironment egress (issue 17, fault 4)', () => {
  const ECR_PUBLIC = 'public.ecr.aws/docker/library/busybox:1.36';
  const PRIVATE_ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnails:1.4';
  const RULE =
    "must say how the jobs reach ECR, CloudWatch Logs and S3: 'nat' (the subnets route to a NAT gateway), 'public-ip' (public subnets: each Fargate task gets a public IP) or " +
    "'vpc-endpoints' (no route out: the VPC has endpoints for ecr.api, ecr.dkr, logs and an S3 gateway endpoint)";

  it.each([
    ['nat', 'DISABLED'],
    ['public-ip', 'ENABLED'],
    ['vpc-endpoints', 'DISABLED'],
  ] as const)("with egress '%s' in subnets of your own, sets the Fargate task's public IP %s", (egress, assignPublicIp) => {
    const json = synthBatch({ egress, ...jobs({ image: PRIVATE_ECR }) });

    expect(containerOf(json).networkConfiguration).toEqual({ assignPublicIp });
  });

  it('requires egress with subnets of your own, naming the field and what it may be', () => {
    expect(buildBatch({ egress: undefined })).toThrow(`BatchEnvironment: egress (required with subnetIds) ${RULE} (got none)`);
    expect(buildBatch({ egress: 'internet' as never })).toThrow(`BatchEnvironment: egress (required with subnetIds) ${RULE} (got 'internet')`);
  });

  it('refuses an ECR Public or Docker Hub image with vpc-endpoints, saying why and what to do', () => {
    expect(buildBatch({ egress: 'vpc-endpoints' })).toThrow(
      `BatchEnvironment job definition 'hello': image must be an image a VPC endpoint serves, such as a private ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), since egress is 'vpc-endpoints' (got '${ECR_PUBLIC}'): ` +
        "no VPC endpoint serves ECR Public (public.ecr.aws); mirror the image to a private ECR repository, or route the subnets through a NAT gateway (egress: 'nat')",
    );
    for (const image of ['busybox:1.36', 'library/busybox', 'docker.io/library/busybox:1.36', 'registry-1.docker.io/bitnami/redis']) {
      expect(buildBatch({ egress: 'vpc-endpoints', ...jobs({ image }) })).toThrow(`(got '${image}'): no VPC endpoint serves Docker Hub;`);
    }
    // Through NAT, and from private ECR or a registry of your own (perhaps in the VPC), the same images are fine.
    expect(buildBatch({ egress: 'nat', ...jobs({ image: 'busybox' }) })).not.toThrow();
    for (const image of [PRIVATE_ECR, 'registry.internal.example.com/tools/report:2', 'localhost:5000/report']) {
      expect(buildBatch({ egress: 'vpc-endpoints', ...jobs({ image }) })).not.toThrow();
    }
  });

  it("takes 'public-ip' in the network created here, and refuses any other egress there", () => {
    const created = { subnetIds: undefined, securityGroupIds: undefined };

    expect(containerOf(synthBatch({ ...created, egress: 'public-ip' })).networkConfiguration).toEqual({ assignPublicIp: 'ENABLED' });
    expect(buildBatch({ ...created, egress: 'nat' })).toThrow(
      "BatchEnvironment: the network created here has public subnets and no NAT gateway, so its egress is 'public-ip' (got egress 'nat'); give subnetIds and securityGroupIds to run the jobs in a network of your own",
    );
  });

  it("with an existing queue, gives Fargate tasks a public IP only with egress 'public-ip'", () => {
    const onQueue = { subnetIds: undefined, securityGroupIds: undefined, jobQueueArn: QUEUE_ARN };

    expect(containerOf(synthBatch({ ...onQueue, egress: undefined })).networkConfiguration).toEqual({ assignPublicIp: 'DISABLED' });
    expect(containerOf(synthBatch({ ...onQueue, egress: 'public-ip' })).networkConfiguration).toEqual({ assignPublicIp: 'ENABLED' });
  });
});

describe('BatchEnvironment options', () => {
  it('runs FARGATE_SPOT environments on Fargate capacity', () => {
    const json = synthBatch({ computeType: 'FARGATE_SPOT', maxVcpus: 4 });
    expect(onlyResource(json, 'aws_batch_compute_environment').compute_resources).toMatchObject({ type: 'FARGATE_SPOT', max_vcpus: 4 });
    expect(onlyResource(json, 'aws_batch_job_definition').platform_capabilities).toEqual(['FARGATE']);
  });

  it('passes vCPU, memory, environment, attempts and timeout of a job through', () => {
    const json = synthBatch(jobs({ vcpu: 1, memoryMiB: 3072, environment: { GREETING: 'hi' }, attempts: 5, timeoutSeconds: 600 }));
    const definition = onlyResource(json, 'aws_batch_job_definition');
    const container = containerOf(json);
    expect(container.resourceRequirements).toEqual([
      { type: 'VCPU', value: '1' },
      { type: 'MEMORY', value: '3072' },
    ]);
    expect(container.environment).toEqual([{ name: 'GREETING', value: 'hi' }]);
    expect(definition.retry_strategy.attempts).toBe(5);
    expect(definition.timeout).toEqual({ attempt_duration_seconds: 600 });
  });

  it('sets log retention and queue priority', () => {
    const json = synthBatch({ logRetentionDays: 14, queuePriority: 7 });
    expect(onlyResource(json, 'aws_cloudwatch_log_group').retention_in_days).toBe(14);
    expect(onlyResource(json, 'aws_batch_job_queue').priority).toBe(7);
  });

  it('uses a passed-in job role and creates none', () => {
    // Prepare
    const jobRoleArn = 'arn:aws:iam::123456789012:role/existing-job-role';
    let env: BatchEnvironment | undefined;
    // Act
    const json = synthStack((stack) => {
      env = new BatchEnvironment(stack, 'batch', { ...BASE, ...jobs({ jobRoleArn }) });
    });
    // Assess
    expect(containerOf(json).jobRoleArn).toBe(jobRoleArn);
    expect(Object.keys(resourcesOf(json, 'aws_iam_role')).filter((id) => id.includes('job-role'))).toEqual([]);
    expect(env!.jobRoles).toEqual({});
  });

  it('lets the execution role pull from the given ECR repositories', () => {
    const repo = 'arn:aws:ecr:eu-west-1:123456789012:repository/jobs';
    const json = synthBatch({ ecrRepositoryArns: [repo] });
    expect(byAction(roleNamed(json, 'batch-execution').statements)).toEqual([
      { effect: 'Allow', actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], resources: [repo] },
      { effect: 'Allow', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
      {
        effect: 'Allow',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${readable(json, 'aws_cloudwatch_log_group', 'batch_logs', 'arn')}:*`],
      },
    ]);
  });

  it("derives the pull grant from a job definition's private ECR image, with the repositories given", () => {
    const given = 'arn:aws:ecr:eu-west-1:123456789012:repository/shared/base';
    const json = synthBatch({
      ecrRepositoryArns: [given],
      jobDefinitions: [
        { ...HELLO, image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/thumbnails:1.4' },
        { ...HELLO, name: 'pinned', image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/thumbnails@sha256:' + 'a'.repeat(64) },
        { ...HELLO, name: 'public', image: 'public.ecr.aws/docker/library/busybox:1.36' },
      ],
    });
    const pull = roleNamed(json, 'batch-execution').statements.find((s) => s.actions.includes('ecr:BatchGetImage'))!;

    expect(pull.resources).toEqual([given, 'arn:aws:ecr:eu-west-1:111122223333:repository/team/thumbnails']);
  });

  it.each([
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com/app:latest', 'arn:aws:ecr:us-east-1:111122223333:repository/app'],
    ['111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/app', 'arn:aws-cn:ecr:cn-north-1:111122223333:repository/app'],
    ['111122223333.dkr.ecr.us-gov-west-1.amazonaws.com/a/b/c:v2', 'arn:aws-us-gov:ecr:us-gov-west-1:111122223333:repository/a/b/c'],
    ['111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/app:1', 'arn:aws:ecr:us-east-1:111122223333:repository/app'],
    ['public.ecr.aws/docker/library/busybox:1.36', undefined],
    ['ghcr.io/acme/app:1', undefined],
  ])('reads the repository of %s as %s', (image, arn) => {
    expect(ecrRepositoryArnOf(image)).toBe(arn);
  });

  it('creates one job definition and one job role per route', () => {
    const json = synthBatch(jobs({ name: 'hello' }, { name: 'world' }));
    expect(Object.keys(resourcesOf(json, 'aws_batch_job_definition'))).toHaveLength(2);
    expect(containerOf(json, 'world').jobRoleArn).toBe(refTo(json, 'aws_iam_role', 'job-role-world', 'arn'));
    expect(containerOf(json, 'world').executionRoleArn).toBe(containerOf(json, 'hello').executionRoleArn);
  });
});

describe.each([
  ['EC2', 'BEST_FIT_PROGRESSIVE'],
  ['SPOT', 'SPOT_PRICE_CAPACITY_OPTIMIZED'],
] as const)('BatchEnvironment on %s', (computeType, allocationStrategy) => {
  // Prepare + Act
  const json = synthBatch({ computeType, ...jobs({ vcpu: 1, memoryMiB: 1000 }) });
  const compute = onlyResource(json, 'aws_batch_compute_environment');

  it(`runs ${computeType} instances from the instance profile with ${allocationStrategy}`, () => {
    expect(compute.compute_resources).toEqual({
      type: computeType,
      max_vcpus: 16,
      min_vcpus: 0,
      instance_type: ['optimal'],
      instance_role: refTo(json, 'aws_iam_instance_profile', 'instance-profile', 'arn'),
      allocation_strategy: allocationStrategy,
      subnets: ['subnet-aaa', 'subnet-bbb'],
      security_group_ids: ['sg-111'],
    });
  });

  it('ignores changes of desired_vcpus and is created before it is destroyed', () => {
    expect(compute.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: ['compute_resources[0].desired_vcpus'] });
  });

  it('has an instance role trusted by EC2 with the AWS-managed ECS policy, in an instance profile', () => {
    const role = roleNamed(json, 'batch-instance');
    expect(role.trustedBy).toEqual(['ec2.amazonaws.com']);
    expect(role.statements).toEqual([]);
    expect(role.managedPolicies).toHaveLength(1);
    expect(role.managedPolicies[0]).toMatch(/^arn:.*:iam::aws:policy\/service-role\/AmazonEC2ContainerServiceforEC2Role$/);
    expect(onlyResource(json, 'aws_iam_instance_profile').role).toBe(refTo(json, 'aws_iam_role', 'instance-role', 'name'));
  });

  it('registers EC2 job definitions without Fargate settings', () => {
    const container = containerOf(json);
    expect(onlyResource(json, 'aws_batch_job_definition').platform_capabilities).toEqual(['EC2']);
    expect(container.fargatePlatformConfiguration).toBeUndefined();
    expect(container.networkConfiguration).toBeUndefined();
  });
});

describe('BatchEnvironment with EC2 instance types', () => {
  it('uses the given instance types', () => {
    const json = synthBatch({ computeType: 'EC2', instanceTypes: ['m6g.large', 'c6g'], ...jobs({ vcpu: 2, memoryMiB: 2048 }) });
    expect(onlyResource(json, 'aws_batch_compute_environment').compute_resources.instance_type).toEqual(['m6g.large', 'c6g']);
  });
});

describe('BatchEnvironment grants', () => {
  /** Synthesizes two routes and a caller role that `grant` gives permissions to. */
  function synthGrant(grant: (env: BatchEnvironment, caller: ServiceRole) => void): Synthesized {
    return synthStack((stack) => {
      const env = new BatchEnvironment(stack, 'batch', { ...BASE, ...jobs({ name: 'hello' }, { name: 'world' }) });
      const caller = new ServiceRole(stack, 'caller', { servicePrincipal: 'states.amazonaws.com' });
      grant(env, caller);
    });
  }

  /** The caller role's statements as written in the policy documents (references not shortened). */
  function callerStatements(json: Synthesized): Json[] {
    const docs = json.data.aws_iam_policy_document as Record<string, Json>;
    return Object.entries(docs)
      .filter(([id]) => id.startsWith('caller_') && !id.startsWith('caller_trust'))
      .flatMap(([, doc]) => doc.statement as Json[]);
  }

  it('grantSubmitJob allows SubmitJob on exactly the queue and every revision of each job definition', () => {
    // Prepare + Act
    const json = synthGrant((env, caller) => env.grantSubmitJob(caller));
    // Assess
    const submit = callerStatements(json).filter((s) => s.actions.includes('batch:SubmitJob'));
    expect(submit).toEqual([
      {
        effect: 'Allow',
        actions: ['batch:SubmitJob'],
        resources: [
          refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
          `${refTo(json, 'aws_batch_job_definition', 'job-hello', 'arn_prefix')}:*`,
          `${refTo(json, 'aws_batch_job_definition', 'job-world', 'arn_prefix')}:*`,
        ],
      },
    ]);
  });

  it('grantSubmitJob with routes allows only those job definitions', () => {
    const json = synthGrant((env, caller) => env.grantSubmitJob(caller, ['world']));
    const submit = callerStatements(json).find((s) => s.actions.includes('batch:SubmitJob'))!;
    expect(submit.resources).toEqual([
      refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
      `${refTo(json, 'aws_batch_job_definition', 'job-world', 'arn_prefix')}:*`,
    ]);
  });

  it('grantSubmitJob allows TagResource on the jobs of the queue account and region only', () => {
    // Prepare + Act
    const json = synthGrant((env, caller) => env.grantSubmitJob(caller));
    const tag = callerStatements(json).filter((s) => s.actions.includes('batch:TagResource'));
    // Assess
    expect(tag).toHaveLength(1);
    expect(tag[0].actions).toEqual(['batch:TagResource']);
    expect(tag[0].resources).toHaveLength(1);
    const jobArn = evaluateReplace(tag[0].resources[0], refTo(json, 'aws_batch_job_queue', 'queue', 'arn'), QUEUE_ARN);
    expect(jobArn).toBe('arn:aws:batch:eu-west-1:123456789012:job/*');
  });

  it("grantSubmitJob allows TagResource only with submit-job's tags, the queue tag valued with this queue (issue 17, fault 9)", () => {
    // Prepare + Act
    const json = synthGrant((env, caller) => env.grantSubmitJob(caller));
    const [tag] = callerStatements(json).filter((s) => s.actions.includes('batch:TagResource'));
    // Assess: without these, the role could tag any job of the account into its TerminateJob's scope.
    expect(tag.condition).toEqual([
      { test: 'StringEquals', variable: 'aws:RequestTag/batch-gateway:job-queue', values: [refTo(json, 'aws_batch_job_queue', 'queue', 'arn')] },
      { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: ['runRequestID', 'route', 'batch-gateway:job-queue'] },
      { test: 'Null', variable: 'aws:RequestTag/runRequestID', values: ['false'] },
      { test: 'Null', variable: 'aws:RequestTag/route', values: ['false'] },
    ]);
  });

  it('grantSubmitJob rejects an unknown route by name', () => {
    expect(() => synthGrant((env, caller) => env.grantSubmitJob(caller, ['nope']))).toThrow(/unknown routes nope/);
  });

  it('grantDescribeJobs allows DescribeJobs on * and nothing else', () => {
    const json = synthGrant((env, caller) => env.grantDescribeJobs(caller));
    expect(roleNamed(json, 'test-caller').statements).toEqual([{ effect: 'Allow', actions: ['batch:DescribeJobs'], resources: ['*'] }]);
  });

  it('grantTerminateJob allows TerminateJob on the jobs of the queue account and region only', () => {
    const json = synthGrant((env, caller) => env.grantTerminateJob(caller));
    const statements = callerStatements(json);
    expect(statements).toHaveLength(1);
    expect(statements[0].actions).toEqual(['batch:TerminateJob']);
    expect(statements[0].resources).toHaveLength(1);
    const jobArn = evaluateReplace(statements[0].resources[0], refTo(json, 'aws_batch_job_queue', 'queue', 'arn'), QUEUE_ARN);
    expect(jobArn).toBe('arn:aws:batch:eu-west-1:123456789012:job/*');
  });
});

describe('BatchEnvironment validation', () => {
  it.each<[string, Partial<BatchEnvironmentProps>, RegExp]>([
    ['empty subnets', { subnetIds: [] }, /subnetIds must list at least one subnet/],
    ['empty security groups', { securityGroupIds: [] }, /securityGroupIds must list at least one security group/],
    ['an unknown compute type', { computeType: 'LAMBDA' as never }, /computeType must be .*\(got 'LAMBDA'\)/],
    ['maxVcpus 0', { maxVcpus: 0 }, /maxVcpus must be an integer 1\.\.10000 \(got 0\)/],
    ['instance types on Fargate', { instanceTypes: ['m6g.large'] }, /instanceTypes apply to EC2 and SPOT only \(computeType is FARGATE\)/],
    ['subnets without security groups', { securityGroupIds: undefined }, /securityGroupIds must list at least one security group \(with subnetIds\)/],
    ['an existing network and a network to create', { networkProps: { cidrBlock: '10.1.0.0/16' } }, /give subnetIds and securityGroupIds \(an existing network\) or networkProps \(a network created here\), not both/],
    ['an existing queue with compute settings', { jobQueueArn: QUEUE_ARN, maxVcpus: 4 }, /with an existing jobQueueArn nothing of the compute environment is created; subnetIds, securityGroupIds, maxVcpus would be ignored/],
    ['duplicate job definition names', jobs({ name: 'hello' }, { name: 'hello' }), /names must be unique \('hello' appears twice\)/],
    ['a job name with bad characters', jobs({ name: 'hello world' }), /'hello world': name must match/],
    ['an empty image', jobs({ image: '' }), /'hello': image must not be empty/],
    ['Fargate vcpu 3', jobs({ vcpu: 3, memoryMiB: 8192 }), /Fargate vcpu must be one of .*\(got 3\)/],
    ['Fargate memory 513 for 0.25 vCPU', jobs({ vcpu: 0.25, memoryMiB: 513 }), /Fargate memory for 0\.25 vCPU must be .*\(got 513\)/],
    ['EC2 vcpu 0.5', { computeType: 'EC2', ...jobs({ vcpu: 0.5, memoryMiB: 1024 }) }, /EC2 vcpu must be a whole number >= 1 \(got 0\.5\)/],
    ['EC2 memory 3 MiB', { computeType: 'EC2', ...jobs({ vcpu: 1, memoryMiB: 3 }) }, /memoryMiB must be at least 4 \(got 3\)/],
    ['attempts 11', jobs({ attempts: 11 }), /attempts must be 1\.\.10 \(got 11\)/],
    ['timeout 30 seconds', jobs({ timeoutSeconds: 30 }), /timeoutSeconds must be at least 60 \(got 30\)/],
    ['an AWS_BATCH_ environment variable', jobs({ environment: { AWS_BATCH_JOB_ID: 'x' } }), /environment variable 'AWS_BATCH_JOB_ID' is reserved/],
    ['a job role that is not an ARN', jobs({ jobRoleArn: 'my-role' }), /jobRoleArn must be an ARN \(got 'my-role'\)/],
    ['log retention 8 days', { logRetentionDays: 8 }, /logRetentionDays must be one of .*\(got 8\)/],
  ])('rejects %s', (_, props, message) => {
    expect(buildBatch(props)).toThrow(message);
  });

  it("rejects 1536 MiB for 0.25 vCPU (Fargate allows only 512, 1024 or 2048 there)", () => {
    expect(buildBatch(jobs({ vcpu: 0.25, memoryMiB: 1536 }))).toThrow(/Fargate memory for 0\.25 vCPU .*\(got 1536\)/);
  });

  it.each([
    [0.25, 512],
    [0.25, 1024],
    [0.25, 2048],
    [0.5, 3072],
    [1, 8192],
    [2, 16384],
    [4, 30720],
    [8, 20480],
    [16, 40960],
  ])('accepts Fargate %s vCPU with %s MiB', (vcpu, memoryMiB) => {
    expect(buildBatch(jobs({ vcpu, memoryMiB }))).not.toThrow();
  });

  it('leaves an unresolved maxVcpus to Terraform', () => {
    expect(() =>
      synthStack((stack) => {
        const maxVcpus = new TerraformVariable(stack, 'max_vcpus', { type: 'number' }).numberValue;
        new BatchEnvironment(stack, 'batch', { ...BASE, maxVcpus });
      }),
    ).not.toThrow();
  });
});
