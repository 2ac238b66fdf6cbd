/**
 * The orchestration state machine, in Amazon States Language, built in one place. Each request
 * is routed by `processname` with a Choice (so a plan shows the routes), its job submitted and
 * then polled on a growing schedule until it ends; every outcome is recorded on the item.
 */
import { PollingSchedule } from '../../lambdas/shared/polling';

/** A route as the state machine carries it (`$.route`), and as submit-job and poll-job read it. */
export interface RouteState {
  readonly name: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  readonly parameters: Record<string, string>;
  readonly maxRunTimeSeconds: number;
  readonly terminateOnTimeout: boolean;
  readonly polling: PollingSchedule;
}

export interface DefinitionProps {
  /** Routes by processname, in the order the Choice tests them. */
  readonly routes: RouteState[];
  /** Route taken when processname matches none. @default - such requests are REJECTED */
  readonly defaultRoute?: string;
  /** ARNs of the three functions. */
  readonly functions: { readonly submitJob: string; readonly pollJob: string; readonly recordStatus: string };
  /** Seconds a Task may run before Step Functions gives up on it (the function's timeout plus margin). */
  readonly taskTimeoutSeconds: number;
}

/** State names: what a reviewer reads in the console and in the plan. */
export const STATE = {
  validate: 'Validate request',
  chooseRoute: 'Choose route',
  rejectMissing: 'Reject request without processname',
  rejectUnknown: 'Reject unknown route',
  recordRejection: 'Record rejection',
  rejected: 'Rejected',
  submit: 'Submit job',
  wait: 'Wait for job',
  poll: 'Poll job',
  finished: 'Job finished?',
  succeeded: 'Job succeeded',
  jobFailed: 'Job failed',
  timedOut: 'Job timed out',
  recordFailure: 'Record failure',
  failed: 'Orchestration failed',
  invalidInput: 'Invalid execution input',
} as const;

export const routeStateName = (route: string): string => `Route ${route}`;

/** Transient errors and Lambda service errors: retried with exponential backoff and full jitter. */
export const TASK_RETRY = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Lambda.ClientExecutionTimeoutException',
      'TooManyRequestsException',
    ],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 6,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: ['ThrottledError', 'BatchServerError', 'AwsServiceError'],
    IntervalSeconds: 5,
    BackoffRate: 2,
    MaxAttempts: 8,
    MaxDelaySeconds: 120,
    JitterStrategy: 'FULL',
  },
  {
    // A crash or timeout of the function: safe to retry, every handler is idempotent.
    ErrorEquals: ['Lambda.Unknown', 'States.Timeout'],
    IntervalSeconds: 5,
    BackoffRate: 2,
    MaxAttempts: 2,
    JitterStrategy: 'FULL',
  },
] as const;

type State = Record<string, unknown>;

export function buildDefinition(props: DefinitionProps): { Comment: string; StartAt: string; States: Record<string, State> } {
  const names = props.routes.map((r) => r.name);
  if (props.defaultRoute !== undefined && !names.includes(props.defaultRoute)) {
    throw new Error(`orchestration: defaultRoute '${props.defaultRoute}' is not one of the routes (${names.join(', ')})`);
  }
  const task = (resource: string, next: string, extra: State): State => ({
    Type: 'Task',
    Resource: resource,
    TimeoutSeconds: props.taskTimeoutSeconds,
    Retry: TASK_RETRY,
    ...extra,
    Next: next,
  });
  const catchAll = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure }];

  const states: Record<string, State> = {
    [STATE.validate]: {
      Type: 'Choice',
      Choices: [
        {
          Or: [{ Not: { Variable: '$.runRequestID', IsPresent: true } }, { Not: { Variable: '$.runRequestID', IsString: true } }],
          Next: STATE.invalidInput,
        },
        {
          // A Choice on a missing path is a runtime error: test presence first.
          Or: [{ Not: { Variable: '$.processname', IsPresent: true } }, { Not: { Variable: '$.processname', IsString: true } }],
          Next: STATE.rejectMissing,
        },
      ],
      Default: STATE.chooseRoute,
    },
    [STATE.invalidInput]: { Type: 'Fail', Error: 'InvalidExecutionInput', Cause: 'the execution input has no runRequestID: nothing can be recorded' },
    [STATE.chooseRoute]: {
      Type: 'Choice',
      Choices: props.routes.map((r) => ({ Variable: '$.processname', StringEquals: r.name, Next: routeStateName(r.name) })),
      Default: props.defaultRoute !== undefined ? routeStateName(props.defaultRoute) : STATE.rejectUnknown,
    },
    ...Object.fromEntries(props.routes.map((r) => [routeStateName(r.name), { Type: 'Pass', Result: r, ResultPath: '$.route', Next: STATE.submit }])),
    [STATE.rejectMissing]: {
      Type: 'Pass',
      Result: { status: 'REJECTED', reason: 'the request has no processname' },
      ResultPath: '$.outcome',
      Next: STATE.recordRejection,
    },
    // Only reachable without a default route: Step Functions refuses unreachable states.
    ...(props.defaultRoute === undefined
      ? {
          [STATE.rejectUnknown]: {
            Type: 'Pass',
            Parameters: { status: 'REJECTED', 'reason.$': "States.Format('no route for processname {}', $.processname)" },
            ResultPath: '$.outcome',
            Next: STATE.recordRejection,
          },
        }
      : {}),
    [STATE.recordRejection]: task(props.functions.recordStatus, STATE.rejected, {
      Parameters: { 'runRequestID.$': '$.runRequestID', 'status.$': '$.outcome.status', 'reason.$': '$.outcome.reason' },
      ResultPath: '$.outcome',
      Catch: catchAll,
    }),
    [STATE.rejected]: { Type: 'Succeed' },
    [STATE.submit]: task(props.functions.submitJob, STATE.wait, { ResultPath: '$.job', Catch: catchAll }),
    [STATE.wait]: { Type: 'Wait', SecondsPath: '$.job.waitSeconds', Next: STATE.poll },
    [STATE.poll]: task(props.functions.pollJob, STATE.finished, { ResultPath: '$.job', Catch: catchAll }),
    [STATE.finished]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.job.status', StringEquals: 'SUCCEEDED', Next: STATE.succeeded },
        { Variable: '$.job.status', StringEquals: 'FAILED', Next: STATE.jobFailed },
        { Variable: '$.job.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOut },
      ],
      Default: STATE.wait,
    },
    [STATE.succeeded]: { Type: 'Succeed' },
    [STATE.jobFailed]: { Type: 'Fail', Error: 'JobFailed', Cause: 'the Batch job failed: its reason and exit code are recorded on the run request' },
    [STATE.timedOut]: { Type: 'Fail', Error: 'JobTimedOut', Cause: "the job exceeded its route's maximum run time: recorded as TIMED_OUT" },
    [STATE.recordFailure]: {
      Type: 'Task',
      Resource: props.functions.recordStatus,
      TimeoutSeconds: props.taskTimeoutSeconds,
      // Only the error's name reaches the item: causes can hold stack traces and internals.
      Parameters: { 'runRequestID.$': '$.runRequestID', status: 'FAILED', 'reason.$': "States.Format('orchestration error: {}', $.error.Error)" },
      ResultPath: '$.outcome',
      Retry: TASK_RETRY,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordError', Next: STATE.failed }],
      Next: STATE.failed,
    },
    [STATE.failed]: { Type: 'Fail', Error: 'OrchestrationFailed', Cause: 'an orchestration step failed after its retries: recorded as FAILED on the run request' },
  };
  return {
    Comment: 'batch-gateway: route a run request, submit its Batch job, poll it until it ends, record every status',
    StartAt: STATE.validate,
    States: states,
  };
}
