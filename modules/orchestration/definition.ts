/**
 * The orchestration state machine, in Amazon States Language, built in one place. Each request
 * is routed by `processname` with a Choice (so a plan shows the routes). A Batch route submits
 * its job and polls it on a growing schedule until it ends; a Lambda route runs its function
 * once. Every outcome is recorded on the item, failures are alerted, and the client is notified.
 */
import { ERROR_NAMES, TRANSIENT_ERROR_NAMES, type RouteState } from '../../contract';

export interface DefinitionProps {
  /** Routes by processname, in the order the Choice tests them. */
  readonly routes: RouteState[];
  /** Route taken when processname matches none. @default - such requests are REJECTED */
  readonly defaultRoute?: string;
  /** ARNs of the orchestration functions; `awaitJob` only with `events` routes, `notify` only with notifications. */
  readonly functions: { readonly submitJob: string; readonly pollJob: string; readonly recordStatus: string; readonly awaitJob?: string; readonly notify?: string };
  /** Topic that receives every FAILED or TIMED_OUT run request. @default - no alert */
  readonly failureTopicArn?: string;
  /** Bucket handed to Lambda routes for their artifacts. @default - none */
  readonly artifactsBucket?: string;
  /** Seconds an orchestration Task may run before Step Functions gives up on it (the function's timeout plus margin). */
  readonly taskTimeoutSeconds: number;
  /**
   * The partition of the service integrations' ARNs (`arn:<partition>:states:::sns:publish`):
   * another partition's ARN fails the state at run time with an uncatchable States.Runtime.
   */
  readonly partition: string;
}

/** The ARN of a Step Functions service integration (`lambda:invoke.waitForTaskToken`, `sns:publish`) in `partition`. */
export function integrationArn(partition: string, integration: string): string {
  return `arn:${partition}:states:::${integration}`;
}

/** State names: what a reviewer reads in the console and in the plan. */
export const STATE = {
  validate: 'Validate request',
  addParameters: 'Add empty parameters',
  chooseRoute: 'Choose route',
  rejectMissing: 'Reject request without processname',
  rejectUnknown: 'Reject unknown route',
  recordRejection: 'Record rejection',
  rejectedOutcome: 'Rejected outcome',
  submit: 'Submit job',
  wait: 'Wait for job',
  awaitJob: 'Await job end',
  poll: 'Poll job',
  finished: 'Job finished?',
  succeededOutcome: 'Job succeeded outcome',
  jobFailedOutcome: 'Job failed outcome',
  timedOutOutcome: 'Job timed out outcome',
  routeResultPresent: 'Route result present?',
  routeResult: 'Route result?',
  recordRouteSuccess: 'Record route success',
  routeLink: 'Route result link?',
  routeSucceededOutcome: 'Route succeeded outcome',
  routeSucceededWithoutLinkOutcome: 'Route succeeded outcome (no link)',
  rejectRouteInput: 'Reject route input',
  routeTimedOut: 'Route timed out',
  recordRouteTimeout: 'Record route timeout',
  invalidRouteResult: 'Invalid route result',
  recordFailure: 'Record failure',
  failureOutcome: 'Failure outcome',
  alert: 'Alert failure',
  notifyChoice: 'Notify client?',
  notify: 'Notify client',
  recordNotificationFailure: 'Record notification failure',
  finish: 'Finish',
  succeeded: 'Succeeded',
  rejected: 'Rejected',
  jobFailed: 'Job failed',
  timedOut: 'Timed out',
  failed: 'Orchestration failed',
  invalidInput: 'Invalid execution input',
} as const;

export const routeStateName = (route: string): string => `Route ${route}`;
export const startRouteStateName = (route: string): string => `Start ${route}`;
export const runRouteStateName = (route: string): string => `Run ${route}`;

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'TooManyRequestsException',
];
/**
 * A function that ran out of time, by both names AWS documents for it: `Lambda.Unknown` (Step
 * Functions' error handling guide) and `Sandbox.Timedout` (the Lambda invoke integration's errors).
 * `Lambda.Unknown` also names a crash (out of memory, the runtime exiting): not told apart.
 */
export const LAMBDA_TIMEOUT_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout'] as const;
const backoff = { BackoffRate: 2, JitterStrategy: 'FULL' } as const;

/** Transient errors and Lambda service errors: retried with exponential backoff and full jitter. */
export const TASK_RETRY = [
  { ErrorEquals: LAMBDA_SERVICE_ERRORS, IntervalSeconds: 2, MaxAttempts: 6, MaxDelaySeconds: 60, ...backoff },
  { ErrorEquals: [...TRANSIENT_ERROR_NAMES], IntervalSeconds: 5, MaxAttempts: 8, MaxDelaySeconds: 120, ...backoff },
  // A crash or timeout of an orchestration function: safe to retry, every handler is idempotent.
  { ErrorEquals: [...LAMBDA_TIMEOUT_ERRORS, 'States.Timeout'], IntervalSeconds: 5, MaxAttempts: 2, ...backoff },
] as const;

/** A Lambda route's own function: service errors and throttling retried; its timeout is the route's run time, never retried. */
export const ROUTE_RETRY = TASK_RETRY.slice(0, 2);

/**
 * Awaiting a job's end: as TASK_RETRY, but the Task's timeout is the safety net's check, caught
 * (never retried). A crashed await-job is retried: it only stores the token again.
 */
const AWAIT_RETRY = [TASK_RETRY[0], TASK_RETRY[1], { ErrorEquals: [...LAMBDA_TIMEOUT_ERRORS], IntervalSeconds: 5, MaxAttempts: 2, ...backoff }];

/** SNS publish: throttling and service errors. */
const ALERT_RETRY = [{ ErrorEquals: ['SNS.ThrottledException', 'SNS.InternalErrorException', 'States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 4, ...backoff }];

type State = Record<string, unknown>;

export function buildDefinition(props: DefinitionProps): { Comment: string; StartAt: string; States: Record<string, State> } {
  const names = props.routes.map((r) => r.name);
  if (props.defaultRoute !== undefined && !names.includes(props.defaultRoute)) {
    throw new Error(`orchestration: defaultRoute '${props.defaultRoute}' is not one of the routes (${names.join(', ')})`);
  }
  const hasLambdaRoutes = props.routes.some((r) => r.type === 'lambda');
  const hasBatchRoutes = props.routes.some((r) => r.type === 'batch');
  const catchAll = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure }];
  const task = (resource: string, next: string, extra: State): State => ({
    Type: 'Task',
    Resource: resource,
    TimeoutSeconds: props.taskTimeoutSeconds,
    Retry: TASK_RETRY,
    Catch: catchAll,
    ...extra,
    Next: next,
  });
  const recordStatus = (next: string, parameters: State, extra: State = {}): State =>
    task(props.functions.recordStatus, next, { Parameters: { 'runRequestID.$': '$.runRequestID', ...parameters }, ResultPath: '$.outcome', ...extra });
  // Where an outcome goes next: alert (failures), then notify (when a client may listen), then finish.
  const afterNotify = STATE.finish;
  const notifyEntry = props.functions.notify ? STATE.notifyChoice : afterNotify;
  const failureEntry = props.failureTopicArn ? STATE.alert : notifyEntry;
  const outcome = (parameters: State, next: string): State => ({ Type: 'Pass', Parameters: parameters, ResultPath: '$.notification', Next: next });

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
        { Not: { Variable: '$.parameters', IsPresent: true }, Next: STATE.addParameters },
      ],
      Default: STATE.chooseRoute,
    },
    [STATE.invalidInput]: { Type: 'Fail', Error: 'InvalidExecutionInput', Cause: 'the execution input has no runRequestID: nothing can be recorded' },
    [STATE.addParameters]: { Type: 'Pass', Result: {}, ResultPath: '$.parameters', Next: STATE.chooseRoute },
    [STATE.chooseRoute]: {
      Type: 'Choice',
      Choices: props.routes.map((r) => ({ Variable: '$.processname', StringEquals: r.name, Next: routeStateName(r.name) })),
      Default: props.defaultRoute !== undefined ? routeStateName(props.defaultRoute) : STATE.rejectUnknown,
    },
    [STATE.rejectMissing]: { Type: 'Pass', Result: { status: 'REJECTED', reason: 'the request has no processname' }, ResultPath: '$.outcome', Next: STATE.recordRejection },
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
    [STATE.recordRejection]: recordStatus(STATE.rejectedOutcome, { 'status.$': '$.outcome.status', 'reason.$': '$.outcome.reason' }),
    [STATE.rejectedOutcome]: outcome({ status: 'REJECTED', error: { code: 'REJECTED', 'message.$': '$.outcome.reason' } }, notifyEntry),
  };

  for (const route of props.routes) {
    if (route.type === 'batch') {
      states[routeStateName(route.name)] = { Type: 'Pass', Result: route, ResultPath: '$.route', Next: STATE.submit };
      continue;
    }
    states[routeStateName(route.name)] = { Type: 'Pass', Result: route, ResultPath: '$.route', Next: startRouteStateName(route.name) };
    states[startRouteStateName(route.name)] = recordStatus(runRouteStateName(route.name), { status: 'RUNNING' }, { ResultPath: null });
    states[runRouteStateName(route.name)] = {
      Type: 'Task',
      Resource: route.functionArn,
      Parameters: {
        'runRequestID.$': '$.runRequestID',
        'processname.$': '$.processname',
        'parameters.$': '$.parameters',
        ...(props.artifactsBucket ? { artifacts: { bucket: props.artifactsBucket, 'prefix.$': "States.Format('{}/', $.runRequestID)" } } : {}),
      },
      ResultPath: '$.result',
      // The route's maximum run time bounds the function; running out of it is TIMED_OUT, not retried.
      TimeoutSeconds: route.maxRunTimeSeconds,
      Retry: ROUTE_RETRY,
      // The Task's timeout, or the function's own if it is shorter (under either of its names).
      Catch: [{ ErrorEquals: ['States.Timeout', ...LAMBDA_TIMEOUT_ERRORS], ResultPath: '$.error', Next: STATE.routeTimedOut }, ...catchAll],
      Next: STATE.routeResultPresent,
    };
  }

  if (hasLambdaRoutes) {
    Object.assign(states, {
      [STATE.routeResultPresent]: {
        Type: 'Choice',
        // A Pass reading a missing path fails the execution beyond any Catch: every path read below is checked here first.
        Choices: [
          { Or: [{ Not: { Variable: '$.result.ok', IsPresent: true } }, { Not: { Variable: '$.result.ok', IsBoolean: true } }], Next: STATE.invalidRouteResult },
          {
            And: [{ Variable: '$.result.ok', BooleanEquals: false }, { Or: [{ Not: { Variable: '$.result.message', IsPresent: true } }, { Not: { Variable: '$.result.message', IsString: true } }] }],
            Next: STATE.invalidRouteResult,
          },
        ],
        Default: STATE.routeResult,
      },
      [STATE.invalidRouteResult]: { Type: 'Pass', Result: { Error: ERROR_NAMES.invalidRouteResult }, ResultPath: '$.error', Next: STATE.recordFailure },
      [STATE.routeResult]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.result.ok', BooleanEquals: true, Next: STATE.recordRouteSuccess }],
        // Expected failures (bad input) come back as values with a message for the client.
        Default: STATE.rejectRouteInput,
      },
      // The result goes along: a link in it is kept on the item for GET (record-status checks it).
      [STATE.recordRouteSuccess]: recordStatus(STATE.routeLink, { status: 'SUCCEEDED', 'result.$': '$.result' }),
      [STATE.routeLink]: {
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.result.url', IsPresent: true }, { Variable: '$.result.url', IsString: true }], Next: STATE.routeSucceededOutcome }],
        Default: STATE.routeSucceededWithoutLinkOutcome,
      },
      [STATE.routeSucceededOutcome]: outcome({ status: 'SUCCEEDED', 'url.$': '$.result.url' }, notifyEntry),
      [STATE.routeSucceededWithoutLinkOutcome]: outcome({ status: 'SUCCEEDED' }, notifyEntry),
      [STATE.rejectRouteInput]: { Type: 'Pass', Parameters: { status: 'REJECTED', 'reason.$': '$.result.message' }, ResultPath: '$.outcome', Next: STATE.recordRejection },
      [STATE.routeTimedOut]: {
        Type: 'Pass',
        Parameters: { status: 'TIMED_OUT', 'reason.$': "States.Format('maximum run time of {} s exceeded', $.route.maxRunTimeSeconds)" },
        ResultPath: '$.outcome',
        Next: STATE.recordRouteTimeout,
      },
      [STATE.recordRouteTimeout]: recordStatus(STATE.timedOutOutcome, { status: 'TIMED_OUT', 'reason.$': '$.outcome.reason' }),
    });
  }

  if (hasBatchRoutes) {
    const awaits = props.routes.some((r) => r.type === 'batch' && r.completion === 'events');
    if (awaits && !props.functions.awaitJob) throw new Error('orchestration: a route completes by events, but no awaitJob function was given');
    Object.assign(states, {
      // A submitted job is not finished: the Choice sends it to its first check.
      [STATE.submit]: task(props.functions.submitJob, STATE.finished, { ResultPath: '$.job' }),
      [STATE.wait]: { Type: 'Wait', SecondsPath: '$.job.waitSeconds', Next: STATE.poll },
      [STATE.poll]: task(props.functions.pollJob, STATE.finished, { ResultPath: '$.job' }),
      [STATE.finished]: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.job.status', StringEquals: 'SUCCEEDED', Next: STATE.succeededOutcome },
          { Variable: '$.job.status', StringEquals: 'FAILED', Next: STATE.jobFailedOutcome },
          { Variable: '$.job.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOutOutcome },
          // Not finished: a `poll` route waits for its next poll, an `events` route for its job's end.
          ...(awaits ? [{ Variable: '$.route.completion', StringEquals: 'poll', Next: STATE.wait }] : []),
        ],
        Default: awaits ? STATE.awaitJob : STATE.wait,
      },
      ...(awaits
        ? {
            // Waits for job-events (or await-job itself, when the job ended first) to send the job's
            // end with the task token stored on the run request; at the safety net's time, the job is checked.
            [STATE.awaitJob]: {
              Type: 'Task',
              Resource: integrationArn(props.partition, 'lambda:invoke.waitForTaskToken'),
              Parameters: {
                FunctionName: props.functions.awaitJob,
                Payload: { 'runRequestID.$': '$.runRequestID', 'jobId.$': '$.job.jobId', 'taskToken.$': '$$.Task.Token' },
              },
              TimeoutSecondsPath: '$.job.waitSeconds',
              ResultPath: '$.job',
              Retry: AWAIT_RETRY,
              Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.check', Next: STATE.poll }, ...catchAll],
              Next: STATE.finished,
            },
          }
        : {}),
      [STATE.succeededOutcome]: outcome({ status: 'SUCCEEDED' }, notifyEntry),
      [STATE.jobFailedOutcome]: outcome({ status: 'FAILED', error: { code: 'JOB_FAILED', 'message.$': '$.job.reason' } }, failureEntry),
    });
  }
  if (hasBatchRoutes || hasLambdaRoutes) {
    // TIMED_OUT: the reason is the job's (Batch) or the route's (Lambda).
    states[STATE.timedOutOutcome] = {
      Type: 'Choice',
      Choices: [{ Variable: '$.job.reason', IsPresent: true, Next: `${STATE.timedOutOutcome} (job)` }],
      Default: `${STATE.timedOutOutcome} (route)`,
    };
    states[`${STATE.timedOutOutcome} (job)`] = outcome({ status: 'TIMED_OUT', error: { code: 'TIMED_OUT', 'message.$': '$.job.reason' } }, failureEntry);
    states[`${STATE.timedOutOutcome} (route)`] = outcome({ status: 'TIMED_OUT', error: { code: 'TIMED_OUT', 'message.$': '$.outcome.reason' } }, failureEntry);
  }

  Object.assign(states, {
    [STATE.recordFailure]: {
      Type: 'Task',
      Resource: props.functions.recordStatus,
      TimeoutSeconds: props.taskTimeoutSeconds,
      // Only the error's name reaches the item and the client: causes can hold stack traces and internals.
      Parameters: { 'runRequestID.$': '$.runRequestID', status: 'FAILED', 'reason.$': "States.Format('orchestration error: {}', $.error.Error)" },
      ResultPath: '$.outcome',
      Retry: TASK_RETRY,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordError', Next: STATE.failed }],
      Next: STATE.failureOutcome,
    },
    [STATE.failureOutcome]: outcome({ status: 'FAILED', error: { code: 'ORCHESTRATION_ERROR', 'message.$': '$.outcome.reason' } }, failureEntry),
    [STATE.finish]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.notification.status', StringEquals: 'SUCCEEDED', Next: STATE.succeeded },
        { Variable: '$.notification.status', StringEquals: 'REJECTED', Next: STATE.rejected },
        { Variable: '$.notification.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOut },
        { Variable: '$.notification.error.code', StringEquals: 'JOB_FAILED', Next: STATE.jobFailed },
      ],
      Default: STATE.failed,
    },
    // An outcome recorded on the run request ends the execution Succeeded, whatever the outcome:
    // the execution did its work. A rejected request, a failed job and a run out of time are the
    // user's (counted by RunsFailed, RunsTimedOut and RunsRejected); only the gateway's own faults
    // fail the execution, so ExecutionsFailed pages for those alone.
    [STATE.succeeded]: { Type: 'Succeed' },
    [STATE.rejected]: { Type: 'Succeed' },
    [STATE.jobFailed]: { Type: 'Succeed' },
    [STATE.timedOut]: { Type: 'Succeed' },
    [STATE.failed]: { Type: 'Fail', Error: 'OrchestrationFailed', Cause: 'an orchestration step failed after its retries: recorded as FAILED on the run request' },
  });

  if (props.failureTopicArn) {
    states[STATE.alert] = {
      Type: 'Task',
      Resource: integrationArn(props.partition, 'sns:publish'),
      Parameters: {
        TopicArn: props.failureTopicArn,
        Subject: 'batch-gateway: run request did not succeed',
        // Only paths every failure has: a request without processname can fail too.
        'Message.$': "States.Format('Run request {} ended {}: {}', $.runRequestID, $.notification.status, $.notification.error.message)",
      },
      ResultPath: null,
      Retry: ALERT_RETRY,
      // A lost alert changes no outcome.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.alertError', Next: notifyEntry }],
      Next: notifyEntry,
    };
  }
  if (props.functions.notify) {
    Object.assign(states, {
      [STATE.notifyChoice]: {
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.clientId', IsPresent: true }, { Variable: '$.callerIdentity', IsPresent: true }], Next: STATE.notify }],
        Default: afterNotify,
      },
      [STATE.notify]: {
        Type: 'Task',
        Resource: props.functions.notify,
        TimeoutSeconds: props.taskTimeoutSeconds,
        Parameters: { 'runRequestID.$': '$.runRequestID', 'clientId.$': '$.clientId', 'callerIdentity.$': '$.callerIdentity', 'notification.$': '$.notification' },
        ResultPath: '$.notified',
        Retry: TASK_RETRY,
        // A failed notification never changes the run's outcome: it is recorded, and the run finishes.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: STATE.recordNotificationFailure }],
        Next: afterNotify,
      },
      [STATE.recordNotificationFailure]: {
        Type: 'Task',
        Resource: props.functions.recordStatus,
        TimeoutSeconds: props.taskTimeoutSeconds,
        Parameters: { 'runRequestID.$': '$.runRequestID', notification: 'FAILED', 'reason.$': "States.Format('notification error: {}', $.notifyError.Error)" },
        ResultPath: null,
        Retry: TASK_RETRY,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: afterNotify }],
        Next: afterNotify,
      },
    });
  }

  return {
    Comment: 'batch-gateway: route a run request, run its job, record every status, alert failures, notify the client',
    StartAt: STATE.validate,
    States: states,
  };
}
