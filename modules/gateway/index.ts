import { Construct } from 'constructs';
import { type CompletionMode, type PollingSchedule } from '../../contract';
import { ApiAuthorization, ApiGatewayAccountLogging, ApiIngest, IRunRequestsTable, RunRequestsTable, RunRequestsTableProps } from '../api-ingest';
import { ArtifactsBucket, ArtifactsBucketProps } from '../artifacts';
import { BarcodeRoute } from '../barcode-route';
import { BatchEnvironment, ComputeType, EGRESS_RULE, IJobTarget, imageEgressProblem, isNetworkEgress, JobDefinitionSpec, NetworkEgress } from '../batch-env';
import { AlarmThresholds, Monitoring } from '../monitoring';
import { MinimalNetworkProps } from '../network';
import { Notifications } from '../notifications';
import { ILambdaRouteFunction, Orchestration, OrchestrationRoute } from '../orchestration';
import { LambdaFunction } from '../shared/lambda-function';
import { assertProp, metricsNamespaceOf, setNamePrefix } from '../shared/naming';
import { StreamTrigger } from '../stream-trigger';
import { routeProblems } from './route-checks';

/** What every route shares: how long a run may take and how the gateway watches it. */
interface RouteTiming {
  /**
   * From submission to the end of the run: past it the request ends TIMED_OUT.
   * @default 86400 (24 hours) for a Batch route, 300 for a Lambda route
   */
  readonly maxRunTimeSeconds?: number;
}

/** A Batch route whose job definition the gateway creates: only `image` is needed. */
export interface ImageRoute extends RouteTiming {
  /** Container image, e.g. `public.ecr.aws/docker/library/busybox:1.36`. */
  readonly image: string;
  /**
   * Command; an argument `Ref::name` takes the job's parameter `name`, which `parameters` must
   * declare (with its default, `''` when every request gives it). A placeholder inside a longer
   * argument is refused unless `allowParameterInterpolation`: pass it as an argument of its own,
   * e.g. `['sh', '-c', 'echo "$0"', 'Ref::input']`.
   * @default - the image's own
   */
  readonly command?: string[];
  /** vCPUs of the job. @default 0.25 on Fargate, 1 on EC2 */
  readonly vcpus?: number;
  /** Memory of the job in MiB (Fargate allows fixed sizes per vCPU count). @default 512 on Fargate, 2048 on EC2 */
  readonly memoryMiB?: number;
  /** Environment variables of the container. @default {} */
  readonly environment?: Record<string, string>;
  /** Default values of the job's parameters; a request's own override them. @default {} */
  readonly parameters?: Record<string, string>;
  /**
   * Allow `Ref::name` inside a longer argument of `command` (`'echo Ref::input'`). Batch pastes the
   * request's text into the argument, so under `sh -c` a caller's parameter runs as shell code:
   * only for a command that no shell reads, or callers you trust with one.
   * @default false
   */
  readonly allowParameterInterpolation?: boolean;
  /** Attempts per job, for infrastructure failures (a command's own exit code is final). @default 2 */
  readonly attempts?: number;
  /** Role the container's code runs as. @default - a role of its own, with write access to the artifacts bucket only */
  readonly jobRoleArn?: string;
  /** Terminate the job when the route's maximum run time passes. @default true */
  readonly terminateOnTimeout?: boolean;
  /** How the job's end is known: Batch's events with polling as the safety net, or polling alone. @default 'events' */
  readonly completion?: CompletionMode;
  /** When the job is checked; unset fields take the default. @default - events: 15 min, x2, at most 30 min; poll: 30 s, x1.5, at most 240 s */
  readonly polling?: Partial<PollingSchedule>;
}

/** A Batch route that submits to a job definition registered elsewhere (in the gateway's queue's account and region). */
export interface ExistingJobDefinitionRoute extends RouteTiming {
  /** The job definition's name: each submission takes its latest active revision. */
  readonly existingJobDefinition: string;
  /** Default values of the job's parameters; a request's own override them. @default {} */
  readonly parameters?: Record<string, string>;
  /** Terminate the job when the route's maximum run time passes. @default true */
  readonly terminateOnTimeout?: boolean;
  /** How the job's end is known: Batch's events with polling as the safety net, or polling alone. @default 'events' */
  readonly completion?: CompletionMode;
  /** When the job is checked; unset fields take the default. @default - events: 15 min, x2, at most 30 min; poll: 30 s, x1.5, at most 240 s */
  readonly polling?: Partial<PollingSchedule>;
}

/** The Lambda routes the gateway ships. */
export type BuiltInLambdaRoute = 'barcode';

/** A route that runs a Lambda function once, for work that takes seconds. */
export interface FunctionRoute extends RouteTiming {
  /** `'barcode'` (the original demo: a Code 128 PNG of `parameters.text`), or a function you built (see contract/route.ts). */
  readonly lambda: BuiltInLambdaRoute | ILambdaRouteFunction;
}

export type GatewayRoute = ImageRoute | ExistingJobDefinitionRoute | FunctionRoute;

/** Subnets and security groups of an existing network, where the jobs run, and how the jobs get out of it. */
export interface ExistingNetwork {
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
  /**
   * How the jobs reach ECR, CloudWatch Logs and S3 from these subnets: `'nat'` (they route to a NAT
   * gateway), `'public-ip'` (they are public subnets, routed to an internet gateway: each Fargate task
   * gets a public IP) or `'vpc-endpoints'` (no route out: the VPC has endpoints for `ecr.api`,
   * `ecr.dkr` and `logs` and an S3 gateway endpoint; then every image route's image must be a private
   * ECR image, since no VPC endpoint serves ECR Public or Docker Hub). See BatchEnvironmentProps.egress.
   */
  readonly egress: NetworkEgress;
}

export interface BatchGatewayProps {
  /**
   * Every physical name starts with it (`<namePrefix>-<module>-...`); IAM names also end with the
   * region. 2 to 24 characters of a-z, 0-9 and -, starting with a letter. Two gateways in one
   * account need two prefixes.
   */
  readonly namePrefix: string;
  /** Routes by processname (`[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`). A Batch route needs only `image`. */
  readonly routes: Record<string, GatewayRoute>;
  /** Route taken by a processname that matches none. @default - such requests end REJECTED */
  readonly defaultRoute?: string;

  /** `AWS_IAM` (SigV4) or `API_KEY` (a usage plan with a key). Notifications need `AWS_IAM`. @default 'AWS_IAM' */
  readonly authorization?: ApiAuthorization;
  /** Steady-state requests per second of the REST stage. @default 50 */
  readonly throttlingRateLimit?: number;
  /** Burst capacity of the REST stage. @default 100 */
  readonly throttlingBurstLimit?: number;

  /** Bring your own run-requests table. Not with `tableProps`. @default - a table created here */
  readonly existingTable?: IRunRequestsTable;
  /** Settings of the table created here (e.g. a customer-managed KMS key). Not with `existingTable`. @default - on-demand, encrypted, PITR, deletion protection */
  readonly tableProps?: RunRequestsTableProps;

  /** Run jobs in an existing network, saying how they reach AWS from it (`egress`). Not with `networkProps` or `existingJobQueueArn`. @default - a minimal network created here (no NAT gateway, nothing billed while idle) */
  readonly existingNetwork?: ExistingNetwork;
  /** Settings of the network created here. Not with `existingNetwork` or `existingJobQueueArn`. @default - 10.80.0.0/16, two subnets in zones AWS picks */
  readonly networkProps?: MinimalNetworkProps;
  /**
   * Submit to an existing job queue: no compute environment, queue or network is created. Not
   * with `existingNetwork`, `networkProps`, `maxVcpus` or `instanceTypes`.
   * @default - a managed compute environment and a queue created here
   */
  readonly existingJobQueueArn?: string;
  /** Where jobs run (with `existingJobQueueArn`: what that queue runs on). @default 'FARGATE' */
  readonly computeType?: ComputeType;
  /** Ceiling of the compute environment created here. @default 16 */
  readonly maxVcpus?: number;
  /** EC2 and SPOT only. @default ['optimal'] */
  readonly instanceTypes?: string[];
  /**
   * ECR repositories the jobs' execution role may pull from, besides those of the routes' ECR image
   * URIs (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`), which are derived.
   * @default - the repositories of the routes' ECR images
   */
  readonly ecrRepositoryArns?: string[];

  /** The artifacts bucket. @default - a private bucket whose objects expire after 1 day */
  readonly artifacts?: ArtifactsBucketProps;
  /** Seconds a WebSocket connection is remembered, at most 7200 (API Gateway's 2-hour connection limit). @default 7200 */
  readonly connectionTtlSeconds?: number;
  /** E-mail subscribed to the topic of failed and timed-out runs. @default - none */
  readonly failureEmail?: string;
  /** Alarms and a dashboard, or `false` for none. @default - on, with the default thresholds */
  readonly monitoring?: false | { readonly alarmEmail?: string; readonly thresholds?: Partial<AlarmThresholds> };
  /**
   * Manage the account-level API Gateway CloudWatch role, which REST access logs need: one per
   * account and region, shared by every REST API there. Set it in exactly one stack of an account
   * and region, unless the account already has one (another stack's, or set by hand): managing it
   * replaces that role. Without one anywhere, the first apply stops at the stage with "CloudWatch
   * Logs role ARN must be set in account settings".
   * @default false
   */
  readonly manageApiGatewayAccount?: boolean;
  /** Days a finished run request stays in the table (TTL). @default 90 */
  readonly finishedRetentionDays?: number;
  /** Retention of every log group. @default 30 */
  readonly logRetentionDays?: number;
  /** X-Ray on the REST stage, the Lambdas and the state machine. @default false */
  readonly tracing?: boolean;
}

/**
 * The whole batch-gateway pipeline as one construct: a REST API that writes run requests into
 * DynamoDB, the stream trigger, the orchestration state machine with its routes, a Batch
 * environment, WebSocket notifications, an artifacts bucket and monitoring. The stack around it
 * brings the AWS provider and the backend.
 */
export class BatchGateway extends Construct {
  public readonly namePrefix: string;
  /** CloudWatch namespace of the pipeline's own metrics (`batch-gateway/<namePrefix>`). */
  public readonly metricsNamespace: string;
  public readonly table: IRunRequestsTable;
  public readonly api: ApiIngest;
  /** The Batch environment, when a route submits Batch jobs. */
  public readonly batch?: BatchEnvironment;
  public readonly artifacts: ArtifactsBucket;
  public readonly notifications: Notifications;
  public readonly orchestration: Orchestration;
  public readonly trigger: StreamTrigger;
  public readonly monitoring?: Monitoring;
  /** Every Lambda function the gateway created. */
  public readonly functions: LambdaFunction[];
  /** POST run requests here. */
  public readonly runRequestsUrl: string;
  /** Clients connect here with `?clientId=<id>`. */
  public readonly websocketUrl: string;
  /** The WebSocket API's execution ARN: clients need `execute-api:Invoke` on `<this>/<stage>/$connect`. */
  public readonly websocketExecutionArn: string;
  public readonly stateMachineArn: string;

  constructor(scope: Construct, id: string, props: BatchGatewayProps) {
    super(scope, id);
    setNamePrefix(this, props.namePrefix);
    validate(props);
    this.namePrefix = props.namePrefix;
    this.metricsNamespace = metricsNamespaceOf(this);
    const common = { logRetentionDays: props.logRetentionDays, tracing: props.tracing };

    const accountLogging = props.manageApiGatewayAccount ? new ApiGatewayAccountLogging(this, 'apigw-account') : undefined;
    this.table = props.existingTable ?? new RunRequestsTable(this, 'table', props.tableProps);
    this.api = new ApiIngest(this, 'ingest', {
      table: this.table,
      authorization: props.authorization,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      accountLogging: accountLogging?.resource,
      ...common,
    });

    const batchRoutes = Object.entries(props.routes).filter((entry): entry is [string, ImageRoute | ExistingJobDefinitionRoute] => !('lambda' in entry[1]));
    if (batchRoutes.length > 0) {
      const existing = props.existingNetwork;
      this.batch = new BatchEnvironment(this, 'batch', {
        jobQueueArn: props.existingJobQueueArn,
        subnetIds: existing?.subnetIds,
        securityGroupIds: existing?.securityGroupIds,
        egress: existing?.egress,
        networkProps: props.networkProps,
        computeType: props.computeType,
        maxVcpus: props.maxVcpus,
        instanceTypes: props.instanceTypes,
        ecrRepositoryArns: props.ecrRepositoryArns,
        logRetentionDays: props.logRetentionDays,
        jobDefinitions: batchRoutes.flatMap(([name, route]) => ('image' in route ? [jobDefinitionOf(name, route)] : [])),
      });
    }

    this.artifacts = new ArtifactsBucket(this, 'artifacts', props.artifacts);
    this.notifications = new Notifications(this, 'notifications', {
      runRequestsTable: this.table,
      connectionTtlSeconds: props.connectionTtlSeconds,
      failureEmail: props.failureEmail,
      accountLogging: accountLogging?.resource,
      ...common,
    });
    let barcode: BarcodeRoute | undefined;
    const routes: Record<string, OrchestrationRoute> = {};
    for (const [name, route] of Object.entries(props.routes)) {
      if ('lambda' in route) {
        const fn = route.lambda === 'barcode' ? (barcode ??= new BarcodeRoute(this, 'barcode', { artifacts: this.artifacts, timeoutSeconds: barcodeTimeout(props.routes), ...common })) : route.lambda;
        routes[name] = { function: fn, maxRunTimeSeconds: route.maxRunTimeSeconds };
        continue;
      }
      const target: IJobTarget = 'image' in route ? this.batch!.jobTarget(name) : this.batch!.existingJobDefinitionTarget(route.existingJobDefinition);
      routes[name] = {
        target,
        parameters: 'image' in route ? undefined : route.parameters,
        maxRunTimeSeconds: route.maxRunTimeSeconds,
        terminateOnTimeout: route.terminateOnTimeout ?? true,
        completion: route.completion,
        polling: route.polling,
      };
    }
    this.orchestration = new Orchestration(this, 'orchestration', {
      table: this.table,
      routes,
      defaultRoute: props.defaultRoute,
      artifacts: this.artifacts,
      notifications: this.notifications,
      finishedRetentionDays: props.finishedRetentionDays,
      ...common,
    });
    this.trigger = new StreamTrigger(this, 'trigger', { table: this.table, stateMachine: this.orchestration, ...common });

    this.functions = this.node.findAll().filter((c): c is LambdaFunction => c instanceof LambdaFunction);
    if (props.monitoring !== false) {
      this.monitoring = new Monitoring(this, 'monitoring', {
        api: { apiName: this.api.apiName, stageName: this.api.stageName },
        streamTrigger: { functionName: this.trigger.function.functionName, deadLetterQueueName: this.trigger.deadLetterQueueName },
        stateMachineArn: this.orchestration.stateMachineArn,
        functions: this.functions,
        eventRules: this.orchestration.jobEvents
          ? [{ label: 'batch-events', ruleName: this.orchestration.jobEvents.ruleName, failedEventsQueueName: this.orchestration.jobEvents.failedEventsQueueName }]
          : [],
        accountArn: this.table.tableArn,
        alarmEmail: props.monitoring?.alarmEmail,
        thresholds: props.monitoring?.thresholds,
      });
    }

    this.runRequestsUrl = this.api.runRequestsUrl;
    this.websocketUrl = this.notifications.websocketUrl;
    this.websocketExecutionArn = this.notifications.websocketExecutionArn;
    this.stateMachineArn = this.orchestration.stateMachineArn;
  }
}

/** The barcode function outlasts the longest of its routes (a Lambda route's default is 300 s). */
function barcodeTimeout(routes: Record<string, GatewayRoute>): number {
  return Math.max(300, ...Object.values(routes).flatMap((r) => ('lambda' in r && r.lambda === 'barcode' ? [r.maxRunTimeSeconds ?? 300] : [])));
}

/** The job definition of a route the gateway creates; Batch's attempt timeout is the route's maximum run time. */
function jobDefinitionOf(name: string, route: ImageRoute): JobDefinitionSpec {
  return {
    name,
    image: route.image,
    command: route.command,
    vcpu: route.vcpus,
    memoryMiB: route.memoryMiB,
    environment: route.environment,
    parameters: route.parameters,
    attempts: route.attempts,
    jobRoleArn: route.jobRoleArn,
    // The route's deadline counts from submission, an attempt's timeout from its start: Batch never
    // ends a job before the route does. Batch's shortest attempt timeout is 60 s.
    timeoutSeconds: Math.max(MIN_ATTEMPT_TIMEOUT_SECONDS, route.maxRunTimeSeconds ?? DEFAULT_BATCH_MAX_RUN_TIME_SECONDS),
  };
}

const DEFAULT_BATCH_MAX_RUN_TIME_SECONDS = 86400;
const MIN_ATTEMPT_TIMEOUT_SECONDS = 60;

/** The choices that exclude each other, checked up front with the offending props named. */
function validate(props: BatchGatewayProps): void {
  const both = (a: keyof BatchGatewayProps, b: keyof BatchGatewayProps) =>
    assertProp(props[a] === undefined || props[b] === undefined, `BatchGateway: give ${a} or ${b}, not both`);
  both('existingTable', 'tableProps');
  both('existingNetwork', 'networkProps');
  both('existingJobQueueArn', 'existingNetwork');
  both('existingJobQueueArn', 'networkProps');
  both('existingJobQueueArn', 'maxVcpus');
  both('existingJobQueueArn', 'instanceTypes');
  const names = Object.keys(props.routes);
  assertProp(names.length > 0, 'BatchGateway: routes must name at least one route');
  const egress = props.existingNetwork?.egress;
  if (props.existingNetwork !== undefined) {
    assertProp(isNetworkEgress(egress), `BatchGateway: existingNetwork.egress ${EGRESS_RULE}${egress === undefined ? '' : ` (got ${JSON.stringify(egress)})`}`);
  }
  // Every mistake of every route in one message, as the configuration file's check gives them.
  const problems = Object.entries(props.routes).flatMap(([name, route]) => [...routeProblems(route), ...egressProblems(route, egress)].map((p) => `BatchGateway route '${name}': ${p}`));
  assertProp(problems.length === 0, problems.join('\n'));
}

/** An image route's image that the jobs cannot pull through the network's egress. */
function egressProblems(route: GatewayRoute, egress: NetworkEgress | undefined): string[] {
  if (typeof route !== 'object' || route === null || !('image' in route) || typeof route.image !== 'string') return [];
  const problem = imageEgressProblem(route.image, egress, 'existingNetwork.egress');
  return problem ? [`image ${problem.message} (got ${JSON.stringify(route.image)})${problem.hint}`] : [];
}
