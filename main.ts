/**
 * This repository's app: one stack per environment of batch-gateway.config.ts, each with its AWS
 * provider, its backend and one BatchGateway. Composition only: the configuration is parsed in
 * app/config.ts, the pipeline is the BatchGateway construct.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Environment, parseConfig } from './app/config';
import defaultConfig from './batch-gateway.config';
import { ExistingRunRequestsTable } from './modules/api-ingest';
import { BatchGateway } from './modules/gateway';

/** The environment the tools use when none is named. */
export const DEFAULT_ENVIRONMENT = 'dev';

export interface StackOptions {
  /** Fake credentials and skip flags so `terraform plan` runs without an AWS account, and a local backend. Never for deploys. */
  readonly offlinePlan?: boolean;
}

/** One environment: its provider, its backend, its gateway and the outputs an operator needs. */
export class GatewayStack extends TerraformStack {
  public readonly gateway: BatchGateway;

  constructor(scope: Construct, environment: Environment, options: StackOptions = {}) {
    super(scope, environment.name);
    new AwsProvider(this, 'aws', {
      region: environment.region,
      defaultTags: [{ tags: { Project: 'batch-gateway', Environment: environment.name, ManagedBy: 'cdktf', ...environment.tags } }],
      ...(options.offlinePlan ? OFFLINE_PLAN_PROVIDER_SETTINGS : {}),
    });
    if (environment.cloud && !options.offlinePlan) {
      const { organization, hostname, workspace } = environment.cloud;
      new CloudBackend(this, { organization, hostname, workspaces: new NamedCloudWorkspace(workspace) });
    } else {
      new LocalBackend(this, { path: `terraform.${environment.name}.tfstate` });
    }

    const existingTable = environment.existingTable && new ExistingRunRequestsTable(this, 'existing-table', environment.existingTable);
    this.gateway = new BatchGateway(this, 'gateway', { ...environment.gateway, existingTable });

    const g = this.gateway;
    const output = (id: string, value: string | undefined, description: string) => value !== undefined && new TerraformOutput(this, id, { value, description });
    output('api_url', g.api.url, 'Base URL of the REST API stage');
    output('run_requests_url', g.runRequestsUrl, 'POST run requests here');
    output('run_requests_table_name', g.table.tableName, 'The run-requests table (reconcile --table-name)');
    output('job_queue_arn', g.batch?.jobQueueArn, 'The Batch job queue');
    output('stream_dead_letter_queue_url', g.trigger.deadLetterQueueUrl, 'Stream batches that failed every retry (redrive --queue-url)');
    output('job_events_failed_queue_url', g.orchestration.jobEvents?.failedEventsQueueUrl, 'Job state changes never handled (docs/operations.md)');
    output('state_machine_arn', g.stateMachineArn, 'The orchestration state machine (redrive and reconcile --state-machine-arn)');
    output('websocket_url', g.websocketUrl, 'Clients connect here with ?clientId=<id>');
    output('websocket_execution_arn', g.websocketExecutionArn, 'Grant WebSocket clients execute-api:Invoke on <this>/<stage>/$connect');
    output('artifacts_bucket', g.artifacts.bucketName, 'Where results are stored');
    output('failure_topic_arn', g.notifications.failureTopicArn, 'Every FAILED or TIMED_OUT run request');
    output('api_key_id', g.api.apiKeyId, 'Read the key with aws apigateway get-api-key --include-value');
    output('alarm_topic_arn', g.monitoring?.alarmTopicArn, 'Every alarm');
    output('dashboard_name', g.monitoring?.dashboardName, 'The pipeline dashboard');
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

export interface SynthOptions extends StackOptions {
  /** @default 'cdktf.out' */
  readonly outdir?: string;
  /** @default - batch-gateway.config.ts */
  readonly config?: unknown;
}

/** Synthesizes every environment into `<outdir>/stacks/<environment>`. */
export function synthesize(options: SynthOptions = {}): App {
  const app = new App(options.outdir ? { outdir: options.outdir } : {});
  for (const environment of parseConfig(options.config ?? defaultConfig)) new GatewayStack(app, environment, options);
  app.synth();
  return app;
}

if (require.main === module) {
  try {
    synthesize({ offlinePlan: ['1', 'true'].includes(process.env.BATCH_GATEWAY_OFFLINE_PLAN ?? '') });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
