import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { type BatchRouteState, COMPLETION_MODES, type CompletionMode, DEFAULT_EVENT_SAFETY_NET, DEFAULT_POLLING, ENV, type PollingSchedule, ROUTE_NAME_PATTERN, type RouteState } from '../../contract';
import { IRunRequestsTable } from '../api-ingest/table';
import { IArtifactsBucket } from '../artifacts';
import { INotificationTargets } from '../notifications';
import { IJobTarget } from '../batch-env';
import { IGrantable, ServiceRole } from '../shared/iam';
import { LambdaFunction } from '../shared/lambda-function';
import { AWS_LIMITS } from '../shared/limits';
import { assertLogRetention, assertProp, isLiteral, partitionOf, physicalName } from '../shared/naming';
import { grantSendTaskSuccess, JobEvents } from './job-events';
import { validateBatchRouteLimits } from './limits';
import { grantStartExecution, IStateMachine } from '../shared/state-machine';
import { buildDefinition } from './definition';

export * from './definition';

/** A route that runs a Batch job, until its end is known from Batch's events or a poll. */
export interface BatchRoute {
  /** Job queue and job definition (e.g. `batchEnvironment.jobTarget('sample')`). */
  readonly target: IJobTarget;
  /** Job parameters the request's own parameters override. @default {} */
  readonly parameters?: Record<string, string>;
  /** From submission to the end of the run: past it the request is TIMED_OUT. @default 86400 (24 h) */
  readonly maxRunTimeSeconds?: number;
  /** Terminate the Batch job when the maximum run time passes. @default false */
  readonly terminateOnTimeout?: boolean;
  /**
   * How the job's end is known: `events` (Batch's job state changes, within seconds; the job is
   * also checked on `polling`'s long schedule, for the events that are late or lost) or `poll`
   * (DescribeJobs on `polling`'s schedule alone, for accounts that cannot use EventBridge).
   * @default 'events'
   */
  readonly completion?: CompletionMode;
  /**
   * When the job is checked; unset fields take the default.
   * @default - with events: 15 min, x2, at most 30 min; with poll: 30 s, x1.5, at most 240 s
   */
  readonly polling?: Partial<PollingSchedule>;
}

/** A function that serves a Lambda route (contract/route.ts: what it receives and returns). */
export interface ILambdaRouteFunction {
  readonly functionArn: string;
  /** The function's own timeout: a route's maxRunTimeSeconds must not be longer. @default - unknown */
  readonly timeoutSeconds?: number;
  /** Its role, to grant it the artifacts bucket. */
  readonly role?: IGrantable;
}

/** A route that runs a Lambda function once, for work that takes seconds. */
export interface LambdaRoute {
  readonly function: ILambdaRouteFunction;
  /** The function's time budget: past it the request is TIMED_OUT. @default 300 */
  readonly maxRunTimeSeconds?: number;
}

export type OrchestrationRoute = BatchRoute | LambdaRoute;

export interface OrchestrationProps {
  /** The run-requests table the statuses are written to. */
  readonly table: IRunRequestsTable;
  /** Routes by processname (`[A-Za-z0-9][A-Za-z0-9_.-]*`, as the API accepts). */
  readonly routes: Record<string, OrchestrationRoute>;
  /** Route for a processname that matches none. @default - such requests end REJECTED */
  readonly defaultRoute?: string;
  /** Days a finished request stays in the table (its TTL). @default 90 */
  readonly finishedRetentionDays?: number;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** State machine log level. @default 'ERROR' */
  readonly logLevel?: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  /** Log execution input and output (request fields). @default false */
  readonly logExecutionData?: boolean;
  /** @default false */
  readonly tracing?: boolean;
  /** Where routes put their results; each route's role may write there. @default - no artifacts */
  readonly artifacts?: IArtifactsBucket;
  /** Notify clients and alert failures on every terminal status. @default - no notifications */
  readonly notifications?: INotificationTargets;
}

const FUNCTION_TIMEOUT_SECONDS = 60;

/**
 * The Standard state machine that runs each accepted run request to its end, with the
 * `submit-job`, `poll-job` and `record-status` Lambdas it invokes.
 */
export class Orchestration extends Construct implements IStateMachine {
  public readonly stateMachineArn: string;
  public readonly stateMachineName: string;
  public readonly logGroupName: string;
  public readonly submitJobFunction: LambdaFunction;
  public readonly pollJobFunction: LambdaFunction;
  public readonly recordStatusFunction: LambdaFunction;
  /** Holds the task tokens of executions waiting on a job's end (with `events` routes). */
  public readonly awaitJobFunction?: LambdaFunction;
  /** Records Batch's job state changes and wakes the waiting executions (with `events` routes). */
  public readonly jobEventsFunction?: LambdaFunction;
  /** The EventBridge rule delivering Batch's job state changes to job-events (with `events` routes). */
  public readonly jobEvents?: JobEvents;
  /** The definition as synthesized (ARNs are Terraform references). */
  public readonly definition: ReturnType<typeof buildDefinition>;
  public readonly routeNames: string[];

  constructor(scope: Construct, id: string, props: OrchestrationProps) {
    super(scope, id);
    const routeNames = Object.keys(props.routes);
    const retentionDays = props.finishedRetentionDays ?? 90;
    assertProp(routeNames.length > 0, 'Orchestration: routes must name at least one route');
    for (const name of routeNames) {
      assertProp(new RegExp(ROUTE_NAME_PATTERN).test(name), `Orchestration: route name '${name}' must match ${ROUTE_NAME_PATTERN} (a processname)`);
    }
    assertProp(props.defaultRoute === undefined || routeNames.includes(props.defaultRoute), `Orchestration: defaultRoute '${props.defaultRoute}' is not one of the routes (${routeNames.join(', ')})`);
    assertProp(Number.isInteger(retentionDays) && retentionDays >= 1, `Orchestration: finishedRetentionDays must be a whole number >= 1 (got ${retentionDays})`);
    assertLogRetention(props.logRetentionDays ?? 30, 'Orchestration');
    const routes = routeNames.map((name) => routeState(name, props.routes[name], props.artifacts));
    this.routeNames = routeNames;

    const environment = {
      [ENV.tableName]: props.table.tableName,
      [ENV.finishedRetentionDays]: String(retentionDays),
      // Batch allows 50 calls per second per account, shared by every execution: the SDK's adaptive
      // mode slows each client down when throttled instead of failing fast into the state machine's
      // longer backoff (measured in `npm run bench`).
      [ENV.sdkRetryMode]: 'adaptive',
      [ENV.sdkMaxAttempts]: '8',
    };
    const fn = (fid: string, bundle: string, description: string) =>
      new LambdaFunction(this, fid, {
        bundle,
        description,
        environment: { ...environment, [ENV.serviceName]: bundle },
        timeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
        logRetentionDays: props.logRetentionDays,
        tracing: props.tracing,
      });
    this.submitJobFunction = fn('submit-job', 'submit-job', 'Submits the Batch job of a run request, at most once');
    this.pollJobFunction = fn('poll-job', 'poll-job', 'Checks a Batch job and records its status changes');
    this.recordStatusFunction = fn('record-status', 'record-status', 'Records REJECTED and FAILED outcomes decided by the state machine');
    for (const f of [this.submitJobFunction, this.pollJobFunction, this.recordStatusFunction]) {
      props.table.grantUpdateStatus(f.role);
    }
    // submit-job reads what an earlier attempt recorded.
    props.table.grantReadItem(this.submitJobFunction.role);
    const eventRoutes = routes.filter((r): r is BatchRouteState => r.type === 'batch' && r.completion === 'events');
    if (eventRoutes.length > 0) {
      // poll-job reads a job's end an event recorded before asking Batch.
      props.table.grantReadItem(this.pollJobFunction.role);
      this.awaitJobFunction = fn('await-job', 'await-job', "Holds the task token an execution waits on until its job's end is known");
      this.jobEventsFunction = fn('job-events', 'job-events', "Records a Batch job's state change on its run request and wakes the execution waiting on its end");
      for (const f of [this.awaitJobFunction, this.jobEventsFunction]) {
        props.table.grantUpdateStatus(f.role);
        grantSendTaskSuccess(f);
      }
      props.table.grantReadItem(this.jobEventsFunction.role);
      this.jobEvents = new JobEvents(this, 'batch-events', { jobQueueArns: [...new Set(eventRoutes.map((r) => r.jobQueue))], target: this.jobEventsFunction });
    }
    const routeFunctionArns: string[] = [];
    for (const name of routeNames) {
      const route = props.routes[name];
      if ('target' in route) {
        route.target.grantSubmit(this.submitJobFunction.role);
        route.target.grantMonitor(this.pollJobFunction.role);
        if (props.artifacts && route.target.jobRole) props.artifacts.grantWrite(route.target.jobRole);
      } else {
        routeFunctionArns.push(route.function.functionArn);
        if (props.artifacts && route.function.role) {
          props.artifacts.grantWrite(route.function.role);
          // A result link is signed with the function's own credentials.
          props.artifacts.grantRead(route.function.role);
        }
      }
    }

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/vendedlogs/states/${physicalName(this, '', 200)}`,
      retentionInDays: props.logRetentionDays ?? 30,
    });
    this.logGroupName = logGroup.name;

    const machineName = physicalName(this, '', 80);
    // The role is assumed for this state machine only (confused deputy): its ARN is built from the
    // log group's partition, region and account (known before either exists, no account lookup).
    const [partition, region, account] = [1, 3, 4].map((i) => Fn.element(Fn.split(':', logGroup.arn), i));
    const machineArn = `arn:${partition}:states:${region}:${account}:stateMachine:${machineName}`;
    const role = new ServiceRole(this, 'role', {
      servicePrincipal: 'states.amazonaws.com',
      description: 'Runs the batch-gateway orchestration state machine',
      trustConditions: [
        { test: 'StringEquals', variable: 'aws:SourceAccount', values: [account] },
        // The machine, its versions and its aliases.
        { test: 'ArnLike', variable: 'aws:SourceArn', values: [machineArn, `${machineArn}:*`] },
      ],
    });
    role.addToPolicy('invoke-functions', [
      {
        actions: ['lambda:InvokeFunction'],
        resources: [...[this.submitJobFunction, this.awaitJobFunction, this.pollJobFunction, this.recordStatusFunction].flatMap((f) => (f ? [f.functionArn] : [])), ...routeFunctionArns].flatMap((arn) => [arn, `${arn}:*`]),
      },
    ]);
    props.notifications?.grantNotify(role);
    role.addToPolicy('logs-delivery', [
      {
        // CloudWatch Logs delivery APIs support no resource-level permissions.
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      },
    ]);
    if (props.tracing) {
      // X-Ray trace APIs support no resource-level permissions.
      role.addToPolicy('xray', [{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], resources: ['*'] }]);
    }

    this.definition = buildDefinition({
      routes,
      defaultRoute: props.defaultRoute,
      functions: {
        submitJob: this.submitJobFunction.functionArn,
        pollJob: this.pollJobFunction.functionArn,
        recordStatus: this.recordStatusFunction.functionArn,
        awaitJob: this.awaitJobFunction?.functionArn,
        notify: props.notifications?.notifyFunctionArn,
      },
      failureTopicArn: props.notifications?.failureTopicArn,
      artifactsBucket: props.artifacts?.bucketName,
      taskTimeoutSeconds: FUNCTION_TIMEOUT_SECONDS + 30,
      partition: partitionOf(this),
    });
    const machine = new SfnStateMachine(this, 'state-machine', {
      name: machineName,
      type: 'STANDARD',
      roleArn: role.roleArn,
      definition: JSON.stringify(this.definition, null, 2),
      loggingConfiguration: {
        logDestination: `${logGroup.arn}:*`,
        level: props.logLevel ?? 'ERROR',
        includeExecutionData: props.logExecutionData ?? false,
      },
      tracingConfiguration: { enabled: props.tracing ?? false },
      // Step Functions checks the role's permissions when the machine is created.
      dependsOn: [role.resource, ...role.policies],
    });
    this.stateMachineArn = machine.arn;
    this.stateMachineName = machine.name;
  }

  public grantStartExecution(grantee: IGrantable): void {
    grantStartExecution(grantee, this.stateMachineArn);
  }
}

function routeState(name: string, route: OrchestrationRoute, artifacts?: IArtifactsBucket): RouteState {
  const where = `Orchestration route '${name}'`;
  if (!('target' in route)) {
    const maxRunTimeSeconds = route.maxRunTimeSeconds ?? 300;
    const limit = AWS_LIMITS.lambdaMaxTimeoutSeconds;
    assertProp(Number.isInteger(maxRunTimeSeconds) && maxRunTimeSeconds >= 1 && maxRunTimeSeconds <= limit, `${where}: a Lambda route's maxRunTimeSeconds must be 1..${limit}, a Lambda's limit (got ${maxRunTimeSeconds})`);
    const fnTimeout = route.function.timeoutSeconds;
    if (fnTimeout !== undefined && isLiteral(fnTimeout)) {
      assertProp(fnTimeout >= maxRunTimeSeconds, `${where}: the function stops at its timeout of ${fnTimeout} s, before the route's maxRunTimeSeconds of ${maxRunTimeSeconds} s; give it a timeout of at least ${maxRunTimeSeconds} s`);
    }
    return { type: 'lambda', name, functionArn: route.function.functionArn, maxRunTimeSeconds };
  }
  const completion = route.completion ?? 'events';
  assertProp((COMPLETION_MODES as readonly string[]).includes(completion), `${where}: completion must be one of ${COMPLETION_MODES.join(', ')} (got ${String(completion)})`);
  const polling = { ...(completion === 'events' ? DEFAULT_EVENT_SAFETY_NET : DEFAULT_POLLING), ...(route.polling ?? {}) };
  const maxRunTimeSeconds = route.maxRunTimeSeconds ?? 86400;
  assertProp(Number.isInteger(maxRunTimeSeconds) && maxRunTimeSeconds >= 10 && maxRunTimeSeconds <= AWS_LIMITS.standardExecutionSeconds, `${where}: maxRunTimeSeconds must be a whole number from 10 seconds to one year, a Standard execution's longest (got ${maxRunTimeSeconds})`);
  assertProp(polling.initialSeconds >= 1 && polling.initialSeconds <= polling.maxSeconds, `${where}: polling.initialSeconds must be 1..maxSeconds (got ${polling.initialSeconds}, maxSeconds ${polling.maxSeconds})`);
  assertProp(polling.multiplier >= 1 && polling.multiplier <= 10, `${where}: polling.multiplier must be 1..10 (got ${polling.multiplier})`);
  assertProp(polling.maxSeconds <= 3600, `${where}: polling.maxSeconds must be at most 3600 (got ${polling.maxSeconds})`);
  const state: BatchRouteState = {
    type: 'batch',
    name,
    jobQueue: route.target.jobQueue,
    jobDefinition: route.target.jobDefinition,
    parameters: route.parameters ?? {},
    maxRunTimeSeconds,
    terminateOnTimeout: route.terminateOnTimeout ?? false,
    completion,
    polling,
    ...(artifacts ? { artifactsBucket: artifacts.bucketName } : {}),
  };
  validateBatchRouteLimits(where, state, route.target);
  return state;
}
