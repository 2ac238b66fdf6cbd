/**
 * The default batch-gateway stack: composition only. Configuration comes from environment
 * variables (see README, "Configuration"); bad values stop the synth with a clear message.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { z } from 'zod';
import { ApiGatewayAccountLogging, ApiIngest } from './modules/api-ingest';
import { ArtifactsBucket } from './modules/artifacts';
import { BarcodeRoute } from './modules/barcode-route';
import { BatchEnvironment, ComputeType } from './modules/batch-env';
import { Monitoring } from './modules/monitoring';
import { MinimalNetwork } from './modules/network';
import { Notifications } from './modules/notifications';
import { Orchestration } from './modules/orchestration';
import { LOG_RETENTION_DAYS } from './modules/shared/naming';
import { StreamTrigger } from './modules/stream-trigger';

export const STACK_NAME = 'batch-gateway';

/** The default stack's settings. */
export interface BatchGatewayConfig {
  readonly region: string;
  /** Fake credentials and skip flags so `terraform plan` runs without an AWS account. Never for deploys. */
  readonly offlinePlan: boolean;
  /** Terraform Cloud organization and workspace; a local backend when absent. */
  readonly cloud?: { readonly organization: string; readonly workspace: string; readonly hostname?: string };
  readonly authorization: 'AWS_IAM' | 'API_KEY';
  readonly logRetentionDays: number;
  /** Run jobs in an existing network; a minimal one is created when absent. */
  readonly network?: { readonly subnetIds: string[]; readonly securityGroupIds: string[]; readonly assignPublicIp: boolean };
  readonly availabilityZones?: string[];
  readonly computeType: ComputeType;
  readonly maxVcpus: number;
  readonly sampleImage: string;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly tracing: boolean;
  /** Manage the account-level API Gateway logging role (one per account and region). */
  readonly manageApiGatewayAccount: boolean;
  /** Value of the `Environment` default tag. */
  readonly environment: string;
  /** Days a finished run request stays in the table. */
  readonly finishedRetentionDays: number;
  /** Days an artifact stays in the bucket. */
  readonly artifactExpirationDays: number;
  /** Seconds a WebSocket connection is remembered. */
  readonly connectionTtlSeconds: number;
  /** Subscribed to the failure topic. */
  readonly failureEmail?: string;
  /** Alarms and a dashboard. */
  readonly monitoring: boolean;
  /** The sample route's maximum run time. */
  readonly sampleMaxRunTimeSeconds: number;
  /** Subscribed to the alarm topic. */
  readonly alarmEmail?: string;
}

const flag = z.enum(['1', 'true', '0', 'false', '']).transform((v) => v === '1' || v === 'true');
const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const positiveInt = z.coerce.number().int().positive();

const envSchema = z
  .object({
    BATCH_GATEWAY_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1').optional(),
    AWS_REGION: z.string().optional(),
    BATCH_GATEWAY_OFFLINE_PLAN: flag.default(false),
    TF_CLOUD_ORGANIZATION: z.string().min(1).optional(),
    TF_WORKSPACE: z.string().min(1).optional(),
    TF_CLOUD_HOSTNAME: z.string().min(1).optional(),
    BATCH_GATEWAY_AUTH: z.enum(['AWS_IAM', 'API_KEY']).default('AWS_IAM'),
    BATCH_GATEWAY_LOG_RETENTION_DAYS: z.coerce
      .number()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    BATCH_GATEWAY_SUBNET_IDS: list.pipe(z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be subnet ids'))).optional(),
    BATCH_GATEWAY_SECURITY_GROUP_IDS: list.pipe(z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'must be security group ids'))).optional(),
    BATCH_GATEWAY_ASSIGN_PUBLIC_IP: flag.default(false),
    BATCH_GATEWAY_AVAILABILITY_ZONES: list.optional(),
    BATCH_GATEWAY_COMPUTE_TYPE: z.enum(['FARGATE', 'FARGATE_SPOT', 'EC2', 'SPOT']).default('FARGATE'),
    BATCH_GATEWAY_MAX_VCPUS: positiveInt.max(10000).default(16),
    BATCH_GATEWAY_SAMPLE_IMAGE: z.string().min(1).default('public.ecr.aws/docker/library/busybox:1.36'),
    BATCH_GATEWAY_THROTTLE_RATE: positiveInt.default(50),
    BATCH_GATEWAY_THROTTLE_BURST: positiveInt.default(100),
    BATCH_GATEWAY_TRACING: flag.default(false),
    BATCH_GATEWAY_MANAGE_APIGW_ACCOUNT: flag.default(true),
    BATCH_GATEWAY_FINISHED_RETENTION_DAYS: positiveInt.max(3650).default(90),
    BATCH_GATEWAY_ARTIFACT_EXPIRATION_DAYS: positiveInt.max(3650).default(1),
    BATCH_GATEWAY_CONNECTION_TTL_SECONDS: positiveInt.min(60).max(604800).default(3600),
    BATCH_GATEWAY_FAILURE_EMAIL: z.email('must be an e-mail address').optional(),
    BATCH_GATEWAY_MONITORING: flag.default(true),
    BATCH_GATEWAY_SAMPLE_MAX_RUN_SECONDS: positiveInt.min(10).max(86400).default(3600),
    BATCH_GATEWAY_ALARM_EMAIL: z.email('must be an e-mail address').optional(),
    BATCH_GATEWAY_ENVIRONMENT: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a short tag value').default('dev'),
  })
  .superRefine((env, ctx) => {
    if (!!env.BATCH_GATEWAY_SUBNET_IDS !== !!env.BATCH_GATEWAY_SECURITY_GROUP_IDS) {
      ctx.addIssue({ code: 'custom', path: ['BATCH_GATEWAY_SUBNET_IDS'], message: 'set both BATCH_GATEWAY_SUBNET_IDS and BATCH_GATEWAY_SECURITY_GROUP_IDS, or neither' });
    }
    if (!!env.TF_CLOUD_ORGANIZATION !== !!env.TF_WORKSPACE) {
      ctx.addIssue({ code: 'custom', path: ['TF_WORKSPACE'], message: 'Terraform Cloud needs both TF_CLOUD_ORGANIZATION and TF_WORKSPACE' });
    }
    if (env.BATCH_GATEWAY_SUBNET_IDS && env.BATCH_GATEWAY_AVAILABILITY_ZONES) {
      ctx.addIssue({ code: 'custom', path: ['BATCH_GATEWAY_AVAILABILITY_ZONES'], message: 'applies only to the network this stack creates; not with BATCH_GATEWAY_SUBNET_IDS' });
    }
  });

/** Reads the default stack's configuration; throws one message listing every bad variable. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): BatchGatewayConfig {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new Error(`batch-gateway: invalid configuration\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const region = e.BATCH_GATEWAY_REGION ?? e.AWS_REGION ?? 'us-east-1';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`batch-gateway: invalid configuration\n  AWS_REGION: must be an AWS region such as eu-west-1 (got '${region}')`);
  return {
    region,
    offlinePlan: e.BATCH_GATEWAY_OFFLINE_PLAN,
    cloud: e.TF_CLOUD_ORGANIZATION && e.TF_WORKSPACE ? { organization: e.TF_CLOUD_ORGANIZATION, workspace: e.TF_WORKSPACE, hostname: e.TF_CLOUD_HOSTNAME } : undefined,
    authorization: e.BATCH_GATEWAY_AUTH,
    logRetentionDays: e.BATCH_GATEWAY_LOG_RETENTION_DAYS,
    network:
      e.BATCH_GATEWAY_SUBNET_IDS && e.BATCH_GATEWAY_SECURITY_GROUP_IDS
        ? { subnetIds: e.BATCH_GATEWAY_SUBNET_IDS, securityGroupIds: e.BATCH_GATEWAY_SECURITY_GROUP_IDS, assignPublicIp: e.BATCH_GATEWAY_ASSIGN_PUBLIC_IP }
        : undefined,
    availabilityZones: e.BATCH_GATEWAY_AVAILABILITY_ZONES,
    computeType: e.BATCH_GATEWAY_COMPUTE_TYPE,
    maxVcpus: e.BATCH_GATEWAY_MAX_VCPUS,
    sampleImage: e.BATCH_GATEWAY_SAMPLE_IMAGE,
    throttlingRateLimit: e.BATCH_GATEWAY_THROTTLE_RATE,
    throttlingBurstLimit: e.BATCH_GATEWAY_THROTTLE_BURST,
    tracing: e.BATCH_GATEWAY_TRACING,
    manageApiGatewayAccount: e.BATCH_GATEWAY_MANAGE_APIGW_ACCOUNT,
    environment: e.BATCH_GATEWAY_ENVIRONMENT,
    finishedRetentionDays: e.BATCH_GATEWAY_FINISHED_RETENTION_DAYS,
    artifactExpirationDays: e.BATCH_GATEWAY_ARTIFACT_EXPIRATION_DAYS,
    connectionTtlSeconds: e.BATCH_GATEWAY_CONNECTION_TTL_SECONDS,
    failureEmail: e.BATCH_GATEWAY_FAILURE_EMAIL,
    monitoring: e.BATCH_GATEWAY_MONITORING,
    sampleMaxRunTimeSeconds: e.BATCH_GATEWAY_SAMPLE_MAX_RUN_SECONDS,
    alarmEmail: e.BATCH_GATEWAY_ALARM_EMAIL,
  };
}

/** The default stack: REST ingest, stream trigger, orchestration, Batch environment, notifications, artifacts, barcode route. */
export class BatchGatewayStack extends TerraformStack {
  public readonly ingest: ApiIngest;
  public readonly batch: BatchEnvironment;
  public readonly trigger: StreamTrigger;
  public readonly orchestration: Orchestration;
  public readonly artifacts: ArtifactsBucket;
  public readonly notifications: Notifications;
  public readonly monitoring?: Monitoring;

  constructor(scope: Construct, id: string, config: BatchGatewayConfig) {
    super(scope, id);

    new AwsProvider(this, 'aws', {
      region: config.region,
      defaultTags: [{ tags: { Project: 'batch-gateway', Environment: config.environment, ManagedBy: 'cdktf' } }],
      ...(config.offlinePlan ? OFFLINE_PLAN_PROVIDER_SETTINGS : {}),
    });
    if (config.cloud && !config.offlinePlan) {
      new CloudBackend(this, {
        organization: config.cloud.organization,
        hostname: config.cloud.hostname,
        workspaces: new NamedCloudWorkspace(config.cloud.workspace),
      });
    } else {
      new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    }

    const accountLogging = config.manageApiGatewayAccount ? new ApiGatewayAccountLogging(this, 'apigw-account') : undefined;
    this.ingest = new ApiIngest(this, 'ingest', {
      authorization: config.authorization,
      logRetentionDays: config.logRetentionDays,
      throttlingRateLimit: config.throttlingRateLimit,
      throttlingBurstLimit: config.throttlingBurstLimit,
      tracing: config.tracing,
      accountLogging: accountLogging?.resource,
    });

    const network = config.network ?? new MinimalNetwork(this, 'network', { availabilityZones: config.availabilityZones });
    const subnetIds = config.network ? config.network.subnetIds : (network as MinimalNetwork).subnetIds;
    const securityGroupIds = config.network ? config.network.securityGroupIds : [(network as MinimalNetwork).securityGroupId];
    const fargate = config.computeType === 'FARGATE' || config.computeType === 'FARGATE_SPOT';
    this.batch = new BatchEnvironment(this, 'batch', {
      subnetIds,
      securityGroupIds,
      computeType: config.computeType,
      maxVcpus: config.maxVcpus,
      // The network created here has no NAT gateway: tasks need a public IP to pull images.
      assignPublicIp: fargate ? (config.network ? config.network.assignPublicIp : true) : undefined,
      logRetentionDays: config.logRetentionDays,
      jobDefinitions: [
        {
          // Prints its message, sleeps, exits with the given code: enough to show success, failure and timeouts.
          name: 'sample',
          image: config.sampleImage,
          command: ['sh', '-c', 'echo "batch-gateway sample job: $0"; sleep "$1"; exit "$2"', 'Ref::message', 'Ref::sleepSeconds', 'Ref::exitCode'],
          parameters: { message: 'hello', sleepSeconds: '0', exitCode: '0' },
          timeoutSeconds: 600,
        },
      ],
    });

    this.artifacts = new ArtifactsBucket(this, 'artifacts', { expirationDays: config.artifactExpirationDays });
    this.notifications = new Notifications(this, 'notifications', {
      runRequestsTable: this.ingest.table,
      connectionTtlSeconds: config.connectionTtlSeconds,
      failureEmail: config.failureEmail,
      logRetentionDays: config.logRetentionDays,
      accountLogging: accountLogging?.resource,
      tracing: config.tracing,
    });
    const barcode = new BarcodeRoute(this, 'barcode', { artifacts: this.artifacts, logRetentionDays: config.logRetentionDays, tracing: config.tracing });
    this.orchestration = new Orchestration(this, 'orchestration', {
      table: this.ingest.table,
      routes: {
        sample: { target: this.batch.jobTarget('sample'), maxRunTimeSeconds: config.sampleMaxRunTimeSeconds, terminateOnTimeout: true },
        barcode: { function: barcode, maxRunTimeSeconds: 30 },
      },
      artifacts: this.artifacts,
      notifications: this.notifications,
      finishedRetentionDays: config.finishedRetentionDays,
      logRetentionDays: config.logRetentionDays,
      tracing: config.tracing,
    });
    this.trigger = new StreamTrigger(this, 'trigger', {
      table: this.ingest.table,
      stateMachine: this.orchestration,
      logRetentionDays: config.logRetentionDays,
      tracing: config.tracing,
    });

    if (config.monitoring) {
      const functions = {
        'start-execution': this.trigger.function,
        'submit-job': this.orchestration.submitJobFunction,
        'poll-job': this.orchestration.pollJobFunction,
        'record-status': this.orchestration.recordStatusFunction,
        'ws-connect': this.notifications.connectFunction,
        'ws-disconnect': this.notifications.disconnectFunction,
        notify: this.notifications.notifyFunction,
        'generate-barcode': barcode.function,
      };
      this.monitoring = new Monitoring(this, 'monitoring', {
        api: { apiName: this.ingest.apiName, stageName: this.ingest.stageName },
        streamTrigger: { functionName: this.trigger.function.functionName, deadLetterQueueName: this.trigger.deadLetterQueueName },
        stateMachineArn: this.orchestration.stateMachineArn,
        functions: Object.fromEntries(Object.entries(functions).map(([label, fn]) => [label, fn.functionName])),
        accountArn: this.ingest.table.tableArn,
        alarmEmail: config.alarmEmail,
      });
      new TerraformOutput(this, 'alarm_topic_arn', { value: this.monitoring.alarmTopicArn });
      new TerraformOutput(this, 'dashboard_name', { value: this.monitoring.dashboardName });
    }

    new TerraformOutput(this, 'api_url', { value: this.ingest.url, description: 'Base URL of the REST API stage' });
    new TerraformOutput(this, 'run_requests_url', { value: this.ingest.runRequestsUrl, description: 'POST run requests here' });
    new TerraformOutput(this, 'run_requests_table_name', { value: this.ingest.table.tableName });
    new TerraformOutput(this, 'job_queue_arn', { value: this.batch.jobQueueArn });
    new TerraformOutput(this, 'stream_dead_letter_queue_url', { value: this.trigger.deadLetterQueueUrl, description: 'Stream batches that failed every retry' });
    new TerraformOutput(this, 'state_machine_arn', { value: this.orchestration.stateMachineArn });
    new TerraformOutput(this, 'websocket_url', { value: this.notifications.websocketUrl, description: 'Clients connect here with ?clientId=<id>' });
    new TerraformOutput(this, 'artifacts_bucket', { value: this.artifacts.bucketName });
    new TerraformOutput(this, 'failure_topic_arn', { value: this.notifications.failureTopicArn });
    if (this.ingest.apiKeyId) new TerraformOutput(this, 'api_key_id', { value: this.ingest.apiKeyId });
  }
}

/**
 * Provider settings that let `terraform plan` run with no AWS account: fake keys, no STS or
 * metadata calls, one retry so a data source that does call AWS fails fast instead of hanging.
 */
export const OFFLINE_PLAN_PROVIDER_SETTINGS = {
  accessKey: 'offline-plan-no-credentials',
  secretKey: 'offline-plan-no-credentials',
  skipCredentialsValidation: true,
  skipRequestingAccountId: true,
  skipMetadataApiCheck: 'true',
  skipRegionValidation: true,
  maxRetries: 1,
} as const;

/** Synthesizes the default stack into `outdir` (cdktf.out by default). */
export function synthDefaultStack(outdir?: string, env: Record<string, string | undefined> = process.env): App {
  const app = new App(outdir ? { outdir } : {});
  new BatchGatewayStack(app, STACK_NAME, configFromEnv(env));
  app.synth();
  return app;
}

if (require.main === module) {
  try {
    synthDefaultStack();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
