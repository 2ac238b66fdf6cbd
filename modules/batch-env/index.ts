import { BatchComputeEnvironment } from '@cdktf/provider-aws/lib/batch-compute-environment';
import { BatchJobDefinition } from '@cdktf/provider-aws/lib/batch-job-definition';
import { BatchJobQueue } from '@cdktf/provider-aws/lib/batch-job-queue';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { FARGATE_ZONE_IDS, MinimalNetwork, MinimalNetworkProps } from '../network';
import { AWS_LIMITS } from '../shared/limits';
import { JOB_QUEUE_TAG, JOB_TAG_KEYS } from '../../contract';
import { IGrantable, PolicyStatement, ServiceRole } from '../shared/iam';
import { assertLiteral, assertLogRetention, assertProp, fitName, iamName, isLiteral, physicalName, providerRegion, regionOf } from '../shared/naming';
import { EGRESS_RULE, imageEgressProblem, isNetworkEgress, NetworkEgress } from './egress';

export * from './egress';

/** Where jobs run. Fargate needs no instances; EC2 and Spot run on managed instances. */
export type ComputeType = 'FARGATE' | 'FARGATE_SPOT' | 'EC2' | 'SPOT';

/** A job queue and job definition that a route submits to, with the grants it needs. */
export interface IJobTarget {
  /** Job queue ARN. */
  readonly jobQueue: string;
  /** Job definition name: SubmitJob takes its latest active revision. */
  readonly jobDefinition: string;
  /** Batch's per-attempt timeout of the job definition, when it was created here. */
  readonly attemptTimeoutSeconds?: number;
  /** Where the jobs run. */
  readonly platform?: 'FARGATE' | 'EC2';
  /** SubmitJob (and the tagging, listing and duplicate cancelling that go with it) to this queue with this definition. */
  grantSubmit(grantee: IGrantable): void;
  /** DescribeJobs and TerminateJob. */
  grantMonitor(grantee: IGrantable): void;
  /** The jobs' role, when created by the environment: grant it what the jobs need (e.g. artifacts). */
  readonly jobRole?: IGrantable;
}

/** One job definition: what a route runs. */
export interface JobDefinitionSpec {
  /** Route name; part of the job definition's name (`[A-Za-z0-9_-]`, at most 64). */
  readonly name: string;
  /** Container image, e.g. `public.ecr.aws/docker/library/busybox:1.36`. */
  readonly image: string;
  /** Command; `Ref::name` placeholders take job parameters. @default - the image's command */
  readonly command?: string[];
  /** @default 0.25 on Fargate, 1 on EC2 */
  readonly vcpu?: number;
  /** @default 512 on Fargate, 2048 on EC2 */
  readonly memoryMiB?: number;
  /** @default {} */
  readonly environment?: Record<string, string>;
  /** Default values of the job's parameters (`Ref::name` in the command). @default {} */
  readonly parameters?: Record<string, string>;
  /**
   * Attempts per job (1..10). Retries apply to infrastructure failures (host gone, Spot capacity reclaimed,
   * image pull, task initialization); a non-zero exit of the command is final.
   * @default 2
   */
  readonly attempts?: number;
  /**
   * Per-attempt timeout in seconds (at least 60): Batch ends the attempt FAILED. A route's
   * maxRunTimeSeconds must not be longer (its deadline is TIMED_OUT).
   * @default 86400, the orchestration's default maximum run time
   */
  readonly timeoutSeconds?: number;
  /** Role the container's code runs as. @default - a new role with no permissions (see `jobRoles`) */
  readonly jobRoleArn?: string;
  /** Role ECS uses to pull the image and write logs. @default - the environment's execution role */
  readonly executionRoleArn?: string;
}

export interface BatchEnvironmentProps {
  /**
   * Subnets the jobs run in (with `securityGroupIds`): an existing network.
   * @default - a {@link MinimalNetwork} created here (see `networkProps`)
   */
  readonly subnetIds?: string[];
  /** Security groups of the jobs, with `subnetIds`. @default - the created network's */
  readonly securityGroupIds?: string[];
  /** The network created when no subnets are given. Not with `subnetIds`. @default - {@link MinimalNetwork}'s defaults */
  readonly networkProps?: MinimalNetworkProps;
  /**
   * An existing job queue to submit to: no compute environment, queue or network is created, only
   * the job definitions. Not with `subnetIds`, `networkProps`, `maxVcpus`, `instanceTypes` or `queuePriority`.
   * @default - a managed compute environment and a queue created here
   */
  readonly jobQueueArn?: string;
  /** Job definitions, one per route. @default - none (routes bring their own) */
  readonly jobDefinitions?: JobDefinitionSpec[];
  /** Where jobs run (with `jobQueueArn`: what that queue runs on). @default 'FARGATE' */
  readonly computeType?: ComputeType;
  /** Upper bound of the environment's capacity. @default 16 */
  readonly maxVcpus?: number;
  /** EC2/SPOT only. @default ['optimal'] */
  readonly instanceTypes?: string[];
  /**
   * How the jobs reach ECR (the image and its token), CloudWatch Logs and S3 (the artifacts) from
   * the subnets given; required with `subnetIds`, checked at synth.
   * - `'nat'`: the subnets route to a NAT gateway (private subnets).
   * - `'public-ip'`: the subnets are public (their route table sends 0.0.0.0/0 to an internet
   *   gateway) and each Fargate task gets a public IP (`assignPublicIp` ENABLED); on EC2 and Spot
   *   the instances take theirs from the subnets' auto-assign setting, which must be on. In a
   *   private subnet a public IP reaches nothing: use `'nat'` there.
   * - `'vpc-endpoints'`: no route out; the VPC has interface endpoints for
   *   `com.amazonaws.<region>.ecr.api`, `.ecr.dkr` and `.logs` and a gateway endpoint for `.s3`
   *   (docs/modules.md lists what each is for). Only private ECR images can be pulled: an image on
   *   ECR Public or Docker Hub, which no VPC endpoint serves, is refused.
   * With `jobQueueArn`: what that queue's network provides (`'public-ip'` gives Fargate tasks a public IP).
   * @default - required with `subnetIds`; `'public-ip'` in the network created here (public subnets, no NAT gateway); with `jobQueueArn`, no public IP and no image check
   */
  readonly egress?: NetworkEgress;
  /**
   * ECR repositories the execution role may pull from, besides those of the job definitions' own
   * ECR image URIs, which are derived (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>`).
   * A repository in another account also needs a repository policy there.
   * @default - the repositories of the ECR images only
   */
  readonly ecrRepositoryArns?: string[];
  /** Retention of the jobs' log group. @default 30 */
  readonly logRetentionDays?: number;
  /** Queue priority. @default 1 */
  readonly queuePriority?: number;
}

const DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 86400;

/** Fargate's valid memory sizes (MiB) per vCPU. */
const FARGATE_MEMORY: Record<number, number[]> = {
  0.25: [512, 1024, 2048],
  0.5: range(1024, 4096, 1024),
  1: range(2048, 8192, 1024),
  2: range(4096, 16384, 1024),
  4: range(8192, 30720, 1024),
  8: range(16384, 61440, 4096),
  16: range(32768, 122880, 8192),
};

function range(min: number, max: number, step: number): number[] {
  return Array.from({ length: (max - min) / step + 1 }, (_, i) => min + i * step);
}

/**
 * A managed Batch compute environment, its job queue, and one job definition per route, with
 * execution and job roles and a log group with retention.
 *
 * Changing the compute type or anything that forces a new environment creates the new one
 * first (name prefix + create_before_destroy), moves the queue to it, then deletes the old one.
 */
export class BatchEnvironment extends Construct {
  public readonly jobQueueArn: string;
  /** Job definition ARN (latest revision) per route name. */
  public readonly jobDefinitionArns: Record<string, string>;
  /** Job definition ARN without revision per route name. */
  public readonly jobDefinitionArnPrefixes: Record<string, string>;
  /** Job definition name per route name. */
  public readonly jobDefinitionNames: Record<string, string>;
  /** The role of each route whose job role was created here, to grant it what the job needs. */
  public readonly jobRoles: Record<string, IGrantable>;
  private readonly attemptTimeouts: Record<string, number> = {};
  public readonly logGroupName: string;
  public readonly computeType: ComputeType;
  /** The network created when none was given. */
  public readonly network?: MinimalNetwork;
  /** The compute environment, unless an existing queue was given. */
  public readonly computeEnvironmentArn?: string;

  constructor(scope: Construct, id: string, props: BatchEnvironmentProps) {
    super(scope, id);
    const computeType = props.computeType ?? 'FARGATE';
    const fargate = computeType === 'FARGATE' || computeType === 'FARGATE_SPOT';
    const maxVcpus = props.maxVcpus ?? 16;
    const retention = props.logRetentionDays ?? 30;
    assertProp(['FARGATE', 'FARGATE_SPOT', 'EC2', 'SPOT'].includes(computeType), `BatchEnvironment: computeType must be FARGATE, FARGATE_SPOT, EC2 or SPOT (got '${computeType}')`);
    const jobDefinitions = props.jobDefinitions ?? [];
    const existingNetwork = props.subnetIds !== undefined || props.securityGroupIds !== undefined;
    assertProp(!existingNetwork || (props.subnetIds?.length ?? 0) > 0, 'BatchEnvironment: subnetIds must list at least one subnet (with securityGroupIds)');
    assertProp(!existingNetwork || (props.securityGroupIds?.length ?? 0) > 0, 'BatchEnvironment: securityGroupIds must list at least one security group (with subnetIds)');
    assertProp(!(existingNetwork && props.networkProps), 'BatchEnvironment: give subnetIds and securityGroupIds (an existing network) or networkProps (a network created here), not both');
    if (props.jobQueueArn !== undefined) {
      const computeOnly = (['subnetIds', 'securityGroupIds', 'networkProps', 'maxVcpus', 'instanceTypes', 'queuePriority'] as const).filter((k) => props[k] !== undefined);
      assertProp(computeOnly.length === 0, `BatchEnvironment: with an existing jobQueueArn nothing of the compute environment is created; ${computeOnly.join(', ')} would be ignored`);
    }
    assertLiteral(maxVcpus, (v) => Number.isInteger(v) && v >= 1 && v <= 10000, `BatchEnvironment: maxVcpus must be an integer 1..10000 (got ${maxVcpus})`);
    assertProp(props.instanceTypes === undefined || !fargate, `BatchEnvironment: instanceTypes apply to EC2 and SPOT only (computeType is ${computeType})`);
    const egress = egressOf(props, existingNetwork);
    assertLogRetention(retention, 'BatchEnvironment');
    const names = jobDefinitions.map((j) => j.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    assertProp(duplicate === undefined, `BatchEnvironment: job definition names must be unique ('${duplicate}' appears twice)`);
    jobDefinitions.forEach((spec) => validateJobDefinition(spec, fargate, egress));

    this.computeType = computeType;
    const name = physicalName(this, '', 100);
    // Public subnets without a NAT gateway (the created network's among them): a Fargate task reaches ECR, logs and S3 through its public IP.
    const assignPublicIp = fargate && egress === 'public-ip';
    if (props.jobQueueArn !== undefined) {
      this.jobQueueArn = props.jobQueueArn;
    } else {
      if (!existingNetwork) {
        if (fargate) checkFargateZones(providerRegion(this), props.networkProps);
        this.network = new MinimalNetwork(this, 'network', props.networkProps);
      }
      const subnets = this.network?.subnetIds ?? props.subnetIds!;
      const securityGroupIds = this.network ? [this.network.securityGroupId] : props.securityGroupIds!;
      const computeEnvironment = new BatchComputeEnvironment(this, 'compute', {
        computeEnvironmentNamePrefix: `${physicalName(this, '', 90)}-`,
        type: 'MANAGED',
        state: 'ENABLED',
        computeResources: fargate
          ? { type: computeType, maxVcpus, subnets, securityGroupIds }
          : {
              type: computeType,
              maxVcpus,
              minVcpus: 0,
              instanceType: props.instanceTypes ?? ['optimal'],
              instanceRole: this.instanceProfile().arn,
              allocationStrategy: computeType === 'SPOT' ? 'SPOT_PRICE_CAPACITY_OPTIMIZED' : 'BEST_FIT_PROGRESSIVE',
              subnets,
              securityGroupIds,
            },
        // Omitting service_role makes Batch use its service-linked role.
        lifecycle: {
          createBeforeDestroy: true,
          // Batch scales desired vCPUs itself; a plan must not fight it.
          ignoreChanges: fargate ? undefined : ['compute_resources[0].desired_vcpus'],
        },
      });
      this.computeEnvironmentArn = computeEnvironment.arn;
      const queue = new BatchJobQueue(this, 'queue', {
        name: `${name}-queue`,
        state: 'ENABLED',
        priority: props.queuePriority ?? 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: computeEnvironment.arn }],
      });
      this.jobQueueArn = queue.arn;
    }

    const logGroup = new CloudwatchLogGroup(this, 'logs', { name: `/aws/batch/${name}`, retentionInDays: retention });
    this.logGroupName = logGroup.name;

    let sharedExecutionRole: ServiceRole | undefined;
    const executionRole = (): string => {
      if (!sharedExecutionRole) {
        sharedExecutionRole = new ServiceRole(this, 'execution-role', {
          servicePrincipal: 'ecs-tasks.amazonaws.com',
          roleName: iamName(this, 'execution'),
          description: 'Pulls job images and writes job logs',
        });
        sharedExecutionRole.addToPolicy('logs', [
          { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.arn}:*`] },
        ]);
        // The repositories given, and those of the job definitions' own ECR images.
        const repositories = [...new Set([...(props.ecrRepositoryArns ?? []), ...jobDefinitions.flatMap((spec) => ecrRepositoryArnOf(spec.image) ?? [])])];
        if (repositories.length > 0) {
          sharedExecutionRole.addToPolicy('ecr-pull', [
            { actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], resources: repositories },
            // GetAuthorizationToken supports no resource-level permissions.
            { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
          ]);
        }
      }
      return sharedExecutionRole.roleArn;
    };

    const retryRules = infrastructureRetryRules(computeType);
    assertRetryRules(retryRules, `BatchEnvironment (${computeType})`);
    this.jobDefinitionArns = {};
    this.jobDefinitionArnPrefixes = {};
    this.jobDefinitionNames = {};
    this.jobRoles = {};
    for (const spec of jobDefinitions) {
      let jobRoleArn = spec.jobRoleArn;
      if (!jobRoleArn) {
        const role = new ServiceRole(this, `job-role-${spec.name}`, {
          servicePrincipal: 'ecs-tasks.amazonaws.com',
          roleName: iamName(this, `job-${spec.name}`),
          description: `Role of the ${spec.name} jobs (grant what they need)`,
        });
        this.jobRoles[spec.name] = role;
        jobRoleArn = role.roleArn;
      }
      const { vcpu, memory } = jobSize(spec, fargate);
      const container: Record<string, unknown> = {
        image: spec.image,
        command: spec.command,
        jobRoleArn,
        executionRoleArn: spec.executionRoleArn ?? executionRole(),
        resourceRequirements: [
          { type: 'VCPU', value: String(vcpu) },
          { type: 'MEMORY', value: String(memory) },
        ],
        environment: Object.entries(spec.environment ?? {}).map(([k, v]) => ({ name: k, value: v })),
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': logGroup.name, 'awslogs-region': regionOf(this), 'awslogs-stream-prefix': spec.name },
        },
        readonlyRootFilesystem: false,
        privileged: false,
      };
      if (fargate) {
        container.fargatePlatformConfiguration = { platformVersion: 'LATEST' };
        container.networkConfiguration = { assignPublicIp: assignPublicIp ? 'ENABLED' : 'DISABLED' };
      }
      const definitionName = physicalName(this, spec.name, 128);
      const definition = new BatchJobDefinition(this, `job-${spec.name}`, {
        name: definitionName,
        type: 'container',
        platformCapabilities: [fargate ? 'FARGATE' : 'EC2'],
        containerProperties: JSON.stringify(container),
        parameters: spec.parameters,
        propagateTags: true,
        retryStrategy: { attempts: spec.attempts ?? 2, evaluateOnExit: retryRules },
        timeout: { attemptDurationSeconds: spec.timeoutSeconds ?? DEFAULT_ATTEMPT_TIMEOUT_SECONDS },
      });
      this.jobDefinitionArns[spec.name] = definition.arn;
      this.jobDefinitionArnPrefixes[spec.name] = definition.arnPrefix;
      this.jobDefinitionNames[spec.name] = definitionName;
      this.attemptTimeouts[spec.name] = spec.timeoutSeconds ?? DEFAULT_ATTEMPT_TIMEOUT_SECONDS;
    }
  }

  /** The queue and the job definition `name` created here, as a route's target. */
  public jobTarget(name: string): IJobTarget {
    assertProp(name in this.jobDefinitionNames, `BatchEnvironment.jobTarget: no job definition '${name}' (have ${Object.keys(this.jobDefinitionNames).join(', ') || 'none'})`);
    return { ...this.target(this.jobDefinitionNames[name], [name], this.jobRoles[name]), attemptTimeoutSeconds: this.attemptTimeouts[name] };
  }

  /**
   * The queue and a job definition registered elsewhere, by name, as a route's target. Its ARN is
   * derived from the queue's (same account and region), so the submit grant covers its revisions.
   */
  public existingJobDefinitionTarget(definitionName: string): IJobTarget {
    assertLiteral(definitionName, (n) => /^[A-Za-z0-9_-]{1,128}$/.test(n), `BatchEnvironment.existingJobDefinitionTarget: '${definitionName}' is not a job definition name ([A-Za-z0-9_-]{1,128}; give the name, not the ARN)`);
    const key = `existing:${definitionName}`;
    this.jobDefinitionArnPrefixes[key] ??= Fn.replace(this.jobQueueArn, '/job-queue/.*$/', `job-definition/${definitionName}`);
    return this.target(definitionName, [key]);
  }

  private target(jobDefinition: string, grantKeys: string[], jobRole?: IGrantable): IJobTarget {
    return {
      jobQueue: this.jobQueueArn,
      jobDefinition,
      jobRole,
      platform: this.computeType === 'FARGATE' || this.computeType === 'FARGATE_SPOT' ? 'FARGATE' : 'EC2',
      grantSubmit: (grantee) => this.grantSubmitJob(grantee, grantKeys),
      grantMonitor: (grantee) => {
        this.grantDescribeJobs(grantee);
        this.grantTerminateJob(grantee);
      },
    };
  }

  /** `batch:SubmitJob` to this queue with these routes' job definitions (any revision). */
  public grantSubmitJob(grantee: IGrantable, routes: string[] = Object.keys(this.jobDefinitionArnPrefixes)): void {
    const unknown = routes.filter((r) => !(r in this.jobDefinitionArnPrefixes));
    assertProp(unknown.length === 0, `BatchEnvironment.grantSubmitJob: unknown routes ${unknown.join(', ')}`);
    grantee.addToPolicy(fitName(`batch-submit-${this.node.id}-${[...routes].sort().join('-')}`, 128), [
      {
        actions: ['batch:SubmitJob'],
        resources: [this.jobQueueArn, ...routes.map((r) => `${this.jobDefinitionArnPrefixes[r]}:*`)],
      },
    ]);
    // Once per grantee, whatever the number of routes: the role's inline policies stay small.
    grantee.addToPolicy(`batch-submit-support-${this.node.id}`, [
      // Tags given to SubmitJob are authorized as TagResource on the new job. Batch has no condition
      // key telling that from a TagResource call on an existing job, so the request is held to what
      // submit-job sets: the gateway's keys only, each present, the queue tag valued with this queue
      // (a job cannot be tagged into another queue's scope, nor with anything else).
      {
        actions: ['batch:TagResource'],
        resources: [this.jobArnPattern()],
        conditions: [
          { test: 'StringEquals', variable: `aws:RequestTag/${JOB_QUEUE_TAG}`, values: [this.jobQueueArn] },
          { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: [...JOB_TAG_KEYS] },
          { test: 'Null', variable: 'aws:RequestTag/runRequestID', values: ['false'] },
          { test: 'Null', variable: 'aws:RequestTag/route', values: ['false'] },
        ],
      },
      // ListJobs (finding a job a crashed attempt submitted) supports no resource-level permissions.
      { actions: ['batch:ListJobs'], resources: ['*'] },
      // Cancelling a duplicate that lost the race to be recorded.
      this.terminateOwnJobs(),
    ]);
  }

  /** `batch:DescribeJobs`. */
  public grantDescribeJobs(grantee: IGrantable): void {
    grantee.addToPolicy(`batch-describe-${this.node.id}`, [
      // DescribeJobs supports no resource-level permissions.
      { actions: ['batch:DescribeJobs'], resources: ['*'] },
    ]);
  }

  /** `batch:TerminateJob` on the jobs submitted to this queue by the gateway (tagged with it). */
  public grantTerminateJob(grantee: IGrantable): void {
    grantee.addToPolicy(`batch-terminate-${this.node.id}`, [this.terminateOwnJobs()]);
  }

  /** A job's ARN is not known in advance: the jobs of the account and region, narrowed to those carrying this queue's tag. */
  private terminateOwnJobs(): PolicyStatement {
    return {
      actions: ['batch:TerminateJob'],
      resources: [this.jobArnPattern()],
      conditions: [{ test: 'StringEquals', variable: `aws:ResourceTag/${JOB_QUEUE_TAG}`, values: [this.jobQueueArn] }],
    };
  }

  private jobArns?: string;
  /** Every job of this account and region, derived from the queue's ARN (no lookup); one token, so grants compare equal. */
  private jobArnPattern(): string {
    this.jobArns ??= Fn.replace(this.jobQueueArn, '/job-queue/.*$/', 'job/*');
    return this.jobArns;
  }

  private instanceProfileArn?: string;
  /** EC2 and Spot instances run the ECS agent with this profile. */
  private instanceProfile(): { arn: string } {
    if (!this.instanceProfileArn) {
      const role = new ServiceRole(this, 'instance-role', {
        servicePrincipal: 'ec2.amazonaws.com',
        roleName: iamName(this, 'instance'),
        description: 'ECS container instances of the Batch environment',
      });
      // The AWS-managed policy the ECS agent needs; it is maintained by AWS as the agent changes.
      new IamRolePolicyAttachment(this, 'instance-role-ecs', {
        role: role.roleName,
        policyArn: `arn:${Fn.element(Fn.split(':', role.roleArn), 1)}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`,
      });
      const profile = new IamInstanceProfile(this, 'instance-profile', { name: iamName(this, 'instance', 128), role: role.roleName });
      this.instanceProfileArn = profile.arn;
    }
    return { arn: this.instanceProfileArn };
  }
}

/** One entry of a job definition's `retry_strategy.evaluate_on_exit`: all given patterns must match. */
export interface RetryRule {
  readonly action: 'RETRY' | 'EXIT';
  readonly onStatusReason?: string;
  readonly onReason?: string;
  readonly onExitCode?: string;
}

/**
 * Retry when the infrastructure failed the attempt; a command's own exit is final (the `EXIT`
 * catch-all, without which Batch retries whatever matched nothing). First match wins. The
 * attempt's status reason carries what ECS stopped the task for (Fargate puts
 * `ResourceInitializationError` there), the container's reason what stopped the container.
 * Batch takes 5 entries at most, so each compute type gets only the rules that can happen on it.
 */
export function infrastructureRetryRules(computeType: ComputeType): RetryRule[] {
  const fargate = computeType === 'FARGATE' || computeType === 'FARGATE_SPOT';
  return [
    // An EC2 or Spot instance gone, a reclaimed Spot instance included: "Host EC2 (instance i-…) terminated."
    ...(fargate ? [] : [{ onStatusReason: 'Host EC2*', action: 'RETRY' } as const]),
    // A reclaimed Fargate Spot task.
    ...(computeType === 'FARGATE_SPOT' ? [{ onStatusReason: 'Your Spot Task was interrupted*', action: 'RETRY' } as const] : []),
    { onReason: 'CannotPullContainerError*', action: 'RETRY' },
    { onReason: 'ResourceInitializationError*', action: 'RETRY' },
    { onStatusReason: 'ResourceInitializationError*', action: 'RETRY' },
    { onReason: '*', action: 'EXIT' },
  ];
}

/** A reason pattern Batch takes: letters, numbers, periods, colons and white space, `*` only at the end. */
const REASON_PATTERN = /^[A-Za-z0-9.:\s]*\*?$/;
const EXIT_CODE_PATTERN = /^[0-9]*\*?$/;

/** Batch's rules for a retry strategy, checked here rather than by RegisterJobDefinition at apply. */
export function assertRetryRules(rules: readonly RetryRule[], where: string): void {
  assertProp(
    rules.length <= AWS_LIMITS.evaluateOnExitEntries,
    `${where}: a retry strategy takes at most ${AWS_LIMITS.evaluateOnExitEntries} evaluateOnExit entries (got ${rules.length})`,
  );
  for (const rule of rules) {
    assertProp(rule.action === 'RETRY' || rule.action === 'EXIT', `${where}: evaluateOnExit action must be RETRY or EXIT (got '${rule.action}')`);
    for (const [key, allowed, what] of [
      ['onStatusReason', REASON_PATTERN, 'letters, numbers, periods, colons and white space'],
      ['onReason', REASON_PATTERN, 'letters, numbers, periods, colons and white space'],
      ['onExitCode', EXIT_CODE_PATTERN, 'digits'],
    ] as const) {
      const pattern = rule[key];
      if (pattern === undefined) continue;
      assertProp(
        pattern.length <= AWS_LIMITS.evaluateOnExitPatternLength,
        `${where}: evaluateOnExit ${key} is at most ${AWS_LIMITS.evaluateOnExitPatternLength} characters (got ${pattern.length})`,
      );
      assertProp(allowed.test(pattern), `${where}: evaluateOnExit ${key} '${pattern}' may hold only ${what}, with '*' at the end only`);
    }
  }
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._/-]+?)(?::[\w.-]+)?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * The repository ARN of a private ECR image URI
 * (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]`), so that its pull can be
 * granted without being spelled out; undefined for any other image (public registries need none).
 */
export function ecrRepositoryArnOf(image: string): string | undefined {
  const m = isLiteral(image) ? ECR_IMAGE.exec(image) : null;
  if (!m) return undefined;
  const [, account, region, china, repository] = m;
  const partition = china ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:ecr:${region}:${account}:repository/${repository}`;
}

/** In a region where Fargate runs in some zones only, the created subnets must be placed in those. */
function checkFargateZones(region: string | undefined, network: MinimalNetworkProps = {}): void {
  const supported = region === undefined ? undefined : FARGATE_ZONE_IDS[region];
  if (!supported || network.availabilityZones) return;
  const ids = network.availabilityZoneIds;
  const example = `networkProps.availabilityZoneIds: [${supported.map((z) => `'${z}'`).join(', ')}]`;
  assertProp(ids !== undefined, `BatchEnvironment: in ${region} Fargate runs only in zones ${supported.join(', ')}, and AWS may place the created subnets elsewhere; set ${example}`);
  const unsupported = ids!.filter((z) => !supported.includes(z));
  assertProp(unsupported.length === 0, `BatchEnvironment: Fargate does not run in ${unsupported.join(', ')} (${region} has it in ${supported.join(', ')} only)`);
}

/** A job's size: the smallest Fargate task, or one vCPU and 2 GiB on EC2 (whole vCPUs only). */
function jobSize(spec: JobDefinitionSpec, fargate: boolean): { vcpu: number; memory: number } {
  return fargate ? { vcpu: spec.vcpu ?? 0.25, memory: spec.memoryMiB ?? 512 } : { vcpu: spec.vcpu ?? 1, memory: spec.memoryMiB ?? 2048 };
}

/**
 * The egress of the jobs' network: declared with subnets of your own, `'public-ip'` in the network
 * created here (public subnets, no NAT gateway), as declared (or unknown) with an existing queue.
 */
function egressOf(props: BatchEnvironmentProps, existingNetwork: boolean): NetworkEgress | undefined {
  const given = props.egress;
  const got = given === undefined ? 'none' : `'${String(given)}'`;
  if (existingNetwork || props.jobQueueArn !== undefined) {
    assertProp(isNetworkEgress(given) || (given === undefined && !existingNetwork), `BatchEnvironment: egress${existingNetwork ? ' (required with subnetIds)' : ''} ${EGRESS_RULE} (got ${got})`);
    return given;
  }
  assertProp(
    given === undefined || given === 'public-ip',
    `BatchEnvironment: the network created here has public subnets and no NAT gateway, so its egress is 'public-ip' (got egress ${got}); give subnetIds and securityGroupIds to run the jobs in a network of your own`,
  );
  return 'public-ip';
}

function validateJobDefinition(spec: JobDefinitionSpec, fargate: boolean, egress: NetworkEgress | undefined): void {
  const where = `BatchEnvironment job definition '${spec.name}'`;
  assertProp(/^[A-Za-z0-9_-]{1,64}$/.test(spec.name), `${where}: name must match [A-Za-z0-9_-]{1,64}`);
  assertProp(spec.image.length > 0, `${where}: image must not be empty`);
  const unreachable = imageEgressProblem(spec.image, egress, 'egress');
  assertProp(unreachable === undefined, `${where}: image ${unreachable?.message} (got '${spec.image}')${unreachable?.hint}`);
  const { vcpu, memory } = jobSize(spec, fargate);
  // Sizes are rendered into the container properties JSON at synth time.
  assertProp(isLiteral(vcpu) && isLiteral(memory), `${where}: vcpu and memoryMiB must be literal numbers, not Terraform references`);
  if (fargate) {
    const sizes = FARGATE_MEMORY[vcpu];
    assertProp(sizes !== undefined, `${where}: Fargate vcpu must be one of ${Object.keys(FARGATE_MEMORY).map(Number).sort((a, b) => a - b).join(', ')} (got ${vcpu})`);
    const shown = sizes.length > 4 ? `${sizes[0]}..${sizes[sizes.length - 1]} MiB in steps of ${sizes[1] - sizes[0]}` : `${sizes.join(', ')} MiB`;
    assertProp(sizes.includes(memory), `${where}: Fargate memory for ${vcpu} vCPU must be ${shown} (got ${memory})`);
  } else {
    assertProp(Number.isInteger(vcpu) && vcpu >= 1, `${where}: EC2 vcpu must be a whole number >= 1 (got ${vcpu})`);
    assertProp(memory >= 4, `${where}: memoryMiB must be at least 4 (got ${memory})`);
  }
  const attempts = spec.attempts ?? 2;
  assertLiteral(attempts, (v) => Number.isInteger(v) && v >= 1 && v <= 10, `${where}: attempts must be 1..10 (got ${attempts})`);
  const timeout = spec.timeoutSeconds ?? DEFAULT_ATTEMPT_TIMEOUT_SECONDS;
  assertLiteral(timeout, (v) => v >= AWS_LIMITS.minAttemptTimeoutSeconds, `${where}: timeoutSeconds must be at least ${AWS_LIMITS.minAttemptTimeoutSeconds} (got ${timeout})`);
  for (const key of Object.keys(spec.environment ?? {})) {
    assertProp(!key.startsWith('AWS_BATCH'), `${where}: environment variable '${key}' is reserved (AWS_BATCH*)`);
  }
  if (spec.jobRoleArn) assertProp(!isLiteral(spec.jobRoleArn) || spec.jobRoleArn.startsWith('arn:'), `${where}: jobRoleArn must be an ARN (got '${spec.jobRoleArn}')`);
}
