import { TerraformStack } from 'cdktf';
import { BATCH_JOB_STATE_CHANGE, batchRouteSchema as routeSchema, DEFAULT_EVENT_SAFETY_NET, DEFAULT_POLLING, JOB_EVENT_STATUSES, TRANSIENT_ERROR_NAMES } from '../../contract';
import { parseInput } from '../../lambdas/shared/parse-input';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { ArtifactsBucket } from '../../modules/artifacts';
import { BarcodeRoute } from '../../modules/barcode-route';
import { BatchEnvironment, JobDefinitionSpec } from '../../modules/batch-env';
import { Notifications } from '../../modules/notifications';
import {
  BatchRoute,
  ILambdaRouteFunction,
  LambdaRoute,
  Orchestration,
  OrchestrationProps,
  ROUTE_RETRY,
  STATE,
  TASK_RETRY,
  routeStateName,
  runRouteStateName,
  startRouteStateName,
} from '../../modules/orchestration';
import { JobEvents } from '../../modules/orchestration/job-events';
import { ServiceRole } from '../../modules/shared/iam';
import { LambdaFunction } from '../../modules/shared/lambda-function';
import { readableReference } from '../../scripts/lib/plan-summary';
import { bundleHash, Json, Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, rolesOf, synthStack } from '../helpers/synth';

// asl-validator ships no type declarations; it mutates its input, so it only ever gets a copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const JOBS: JobDefinitionSpec[] = [
  { name: 'hello', image: 'public.ecr.aws/docker/library/busybox:1.36', command: ['echo', 'Ref::who'], parameters: { who: 'world' } },
  { name: 'slow', image: 'public.ecr.aws/docker/library/busybox:1.36', command: ['sleep', 'Ref::seconds'] },
];
/** The custom route's settings, as the props give them: it learns of its job's end by polling. */
const SLOW = {
  completion: 'poll' as const,
  polling: { initialSeconds: 10, maxSeconds: 600 },
  maxRunTimeSeconds: 7200,
  parameters: { seconds: '300' },
  terminateOnTimeout: true,
};
const ACCOUNT_ID = '123456789012';
const REGION = 'eu-west-1';
/** The Lambda route of the full configuration, and its time budget. */
const LAMBDA_ROUTE = 'barcode';
const LAMBDA_ROUTE_SECONDS = 60;
/** A route function made elsewhere: an ARN and no role. */
const IMPORTED_FUNCTION: ILambdaRouteFunction = { functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:imported-route` };

type Options = (batch: BatchEnvironment, stack: TerraformStack, table: RunRequestsTable) => Partial<OrchestrationProps>;

/** Two routes: `hello` on defaults (events), `slow` polling on its own schedule, with its run time, parameters and termination. */
const twoRoutes: Options = (batch) => ({
  routes: { hello: { target: batch.jobTarget('hello') }, slow: { target: batch.jobTarget('slow'), ...SLOW } },
});

/** What `withEverything` adds; `artifacts` and `notifications` may be left out. */
interface Everything {
  readonly artifacts?: boolean;
  readonly notifications?: boolean;
  readonly lambdaRoute?: Partial<LambdaRoute>;
}

/**
 * The two Batch routes, plus an artifacts bucket (`artifacts`), notifications (`notifications`)
 * and the barcode function (`barcode`) as the Lambda route `barcode` (60 s).
 */
const withEverything = ({ artifacts = true, notifications = true, lambdaRoute = {} }: Everything = {}): Options => (batch, stack, table) => {
  const bucket = new ArtifactsBucket(stack, 'artifacts');
  const barcode = new BarcodeRoute(stack, 'barcode', { artifacts: bucket });
  return {
    routes: {
      ...twoRoutes(batch, stack, table).routes,
      [LAMBDA_ROUTE]: { function: barcode, maxRunTimeSeconds: LAMBDA_ROUTE_SECONDS, ...lambdaRoute },
    },
    artifacts: artifacts ? bucket : undefined,
    notifications: notifications ? new Notifications(stack, 'notifications', { runRequestsTable: table }) : undefined,
  };
};

/**
 * Synthesizes a run-requests table (`table`), a Batch environment (`batch`) with the two job
 * definitions, and an `Orchestration` (`orchestration`) with `twoRoutes` overridden by `options`;
 * `after` may add to the stack (e.g. a grantee).
 */
function synthOrchestration(options: Options = () => ({}), after?: (stack: TerraformStack, orchestration: Orchestration) => void): Synthesized {
  return synthStack((stack) => {
    const table = new RunRequestsTable(stack, 'table');
    const batch = new BatchEnvironment(stack, 'batch', { subnetIds: ['subnet-0aaa'], securityGroupIds: ['sg-0bbb'], egress: 'nat', jobDefinitions: JOBS });
    const orchestration = new Orchestration(stack, 'orchestration', { table, routes: {}, ...twoRoutes(batch, stack, table), ...options(batch, stack, table) });
    after?.(stack, orchestration);
  });
}

/** Deferred construction, for `toThrow`. */
function buildOrchestration(options: Options): () => void {
  return () => synthOrchestration(options);
}

/** The parsed ASL of the one state machine. */
function definitionOf(json: Synthesized): Json {
  return JSON.parse(onlyResource(json, 'aws_sfn_state_machine').definition as string) as Json;
}

/**
 * The definition with each Terraform reference replaced by the value Terraform would put there:
 * function and queue ARNs, the topic ARN, the bucket name. asl-validator lets `${...}` through
 * unchecked, so only this form has its ARNs checked.
 */
function withRealisticReferences(json: Synthesized, definition: Json): Json {
  const named = (type: string, id: string, attribute: string): string => {
    const name = resourcesOf(json, type)[id]?.[attribute] as string | undefined;
    if (!name) throw new Error(`no ${type}.${id}.${attribute}`);
    return name;
  };
  const text = JSON.stringify(definition)
    .replace(/\$\{aws_lambda_function\.([^.}]+)\.arn\}/g, (_, id: string) => `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${named('aws_lambda_function', id, 'function_name')}`)
    .replace(/\$\{aws_batch_job_queue\.([^.}]+)\.arn\}/g, (_, id: string) => `arn:aws:batch:${REGION}:${ACCOUNT_ID}:job-queue/${named('aws_batch_job_queue', id, 'name')}`)
    .replace(/\$\{aws_sns_topic\.([^.}]+)\.arn\}/g, (_, id: string) => `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${named('aws_sns_topic', id, 'name')}`)
    .replace(/\$\{aws_s3_bucket\.([^.}]+)\.bucket\}/g, (_, id: string) => `${named('aws_s3_bucket', id, 'bucket_prefix')}20240101000000000000000001`)
    .replace(/\$\{data\.aws_partition\.[^.}]+\.partition\}/g, 'aws');
  if (text.includes('${')) throw new Error(`unresolved reference left: ${/\$\{[^}]*\}/.exec(text)?.[0]}`);
  return JSON.parse(text) as Json;
}

/** asl-validator's verdict on a copy of `definition` (paths and ARNs checked). */
function validateAsl(definition: Json): { isValid: boolean; errors: string } {
  const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
  return { isValid: result.isValid, errors: result.errorsText('\n') };
}

/** Every state a state may go to next: Next, Default, each Choice rule and each Catch. */
function transitionsOf(state: Json): string[] {
  return [
    state.Next,
    state.Default,
    ...((state.Choices as Json[] | undefined) ?? []).map((c) => c.Next),
    ...((state.Catch as Json[] | undefined) ?? []).map((c) => c.Next),
  ].filter((t): t is string => typeof t === 'string');
}

/** Names of the states reachable from `from` (StartAt by default), `from` included. */
function reachableStates(definition: Json, from: string = definition.StartAt as string): Set<string> {
  const seen = new Set<string>();
  const todo: string[] = [from];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    todo.push(...transitionsOf(definition.States[name] as Json));
  }
  return seen;
}

/** A reference as the role summaries print it (`aws_x.name.attr`). */
function readable(json: Synthesized, type: string, idPart: string, attribute: string): string {
  return readableReference(refTo(json, type, idPart, attribute));
}

/** Statements in a stable order, for comparing sets of statements. */
function sorted<T>(statements: T[]): T[] {
  return [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const allow = (actions: string[], resources: string[]) => ({ effect: 'Allow', actions, resources });
/** TerminateJob on the jobs of the account and region that carry the gateway queue's tag. */
const terminateOwnJobs = (json: Synthesized) => ({
  ...allow(['batch:TerminateJob'], [jobArnPattern(json)]),
  conditions: [`aws:ResourceTag/batch-gateway:job-queue StringEquals ${readable(json, 'aws_batch_job_queue', 'queue', 'arn')}`],
});

/** Tagging a new job with submit-job's own tags only (its keys, the queue tag valued with this queue). */
const tagOwnJobs = (json: Synthesized) => ({
  ...allow(['batch:TagResource'], [jobArnPattern(json)]),
  conditions: [
    `aws:RequestTag/batch-gateway:job-queue StringEquals ${readable(json, 'aws_batch_job_queue', 'queue', 'arn')}`,
    'aws:TagKeys ForAllValues:StringEquals runRequestID, route, batch-gateway:job-queue',
    'aws:RequestTag/runRequestID Null false',
    'aws:RequestTag/route Null false',
  ],
});

/** What the state machine role may do about its logs (the delivery APIs take no resource). */
const LOGS_DELIVERY = allow(
  [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ],
  ['*'],
);

/** The job ARN pattern the Batch environment derives from its queue ARN, as the summaries print it. */
function jobArnPattern(json: Synthesized): string {
  return `replace(${readable(json, 'aws_batch_job_queue', 'queue', 'arn')}, "/job-queue/.*$/", "job/*")`;
}

/** The asset hash of a Lambda bundle, computed the way the function's asset computes it. */
/** Every ErrorEquals name a Retry list retries. */
function retriedErrors(retry: Json[]): string[] {
  return retry.flatMap((r) => r.ErrorEquals as string[]);
}

/** Every `$.…` path a state reads (Variable, `.$` values, intrinsic arguments, SecondsPath …). */
function pathsReadBy(state: Json): string[] {
  const text = JSON.stringify({ ...state, ResultPath: undefined, Catch: (state.Catch as Json[] | undefined)?.map((c) => ({ ...c, ResultPath: undefined })) });
  return [...text.matchAll(/\$\.[A-Za-z0-9_.]+/g)].map((m) => m[0]);
}

/** `definition` with the partition data source's reference resolved to `partition`, other references kept. */
function inPartition(definition: Json, partition: string): Json {
  return JSON.parse(JSON.stringify(definition).split(PARTITION).join(partition)) as Json;
}

const FUNCTIONS = ['submit-job', 'await-job', 'poll-job', 'record-status'] as const;
/** The Lambda integration a Task uses to wait for a task token. */
/** The provider's partition, as the stack's one aws_partition data source gives it. */
const PARTITION = '${data.aws_partition.batch-gateway-partition.partition}';
const WAIT_FOR_TASK_TOKEN = `arn:${PARTITION}:states:::lambda:invoke.waitForTaskToken`;
const SNS_PUBLISH = `arn:${PARTITION}:states:::sns:publish`;
/** The function a Task invokes: its Resource, or its FunctionName with the token integration. */
const functionOf = (task: Json): string => (task.Resource === WAIT_FOR_TASK_TOKEN ? task.Parameters.FunctionName : task.Resource) as string;
/** The await Task's Retry: as TASK_RETRY, without retrying its timeout (the safety net's check). */
const AWAIT_RETRY = [TASK_RETRY[0], TASK_RETRY[1], { ...TASK_RETRY[2], ErrorEquals: ['Lambda.Unknown', 'Sandbox.Timedout'] }];
/** The Fail states: the gateway's own faults, the only ends that fail an execution. */
const FAIL_STATES = [STATE.failed, STATE.invalidInput];
const NOTIFICATION_STATES = [STATE.alert, STATE.notifyChoice, STATE.notify, STATE.recordNotificationFailure];
const LAMBDA_ROUTE_STATES = [
  STATE.routeResultPresent,
  STATE.routeResult,
  STATE.recordRouteSuccess,
  STATE.routeSucceededOutcome,
  STATE.rejectRouteInput,
  STATE.routeTimedOut,
  STATE.recordRouteTimeout,
  STATE.invalidRouteResult,
];

describe('Orchestration (two routes, defaults)', () => {
  // Prepare + Act
  const json = synthOrchestration();
  const machine = onlyResource(json, 'aws_sfn_state_machine');
  const definition = definitionOf(json);
  const states = definition.States as Record<string, Json>;
  const fnArn = (fn: (typeof FUNCTIONS)[number]) => refTo(json, 'aws_lambda_function', `${fn}_function`, 'arn');
  const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');

  describe('state machine', () => {
    it('is a STANDARD state machine run by its own role', () => {
      // Assess
      expect(machine.type).toBe('STANDARD');
      expect(machine.name).toBe('test-orchestration');
      expect(machine.role_arn).toBe(refTo(json, 'aws_iam_role', 'orchestration_role', 'arn'));
      expect(roleNamed(json, 'test-orchestration-role').trustedBy).toEqual(['states.amazonaws.com']);
    });

    it('lets Step Functions assume its role for this state machine of this account only (issue 17, fault 9: confused deputy)', () => {
      // Prepare
      const trust = Object.entries(json.data.aws_iam_policy_document as Record<string, Json>).find(([id]) => id.startsWith('orchestration_role_trust'))![1];
      const logGroupArn = refTo(json, 'aws_cloudwatch_log_group', 'orchestration_logs', 'arn').slice(2, -1);
      const part = (i: number) => `\${element(split(":", ${logGroupArn}), ${i})}`;
      const machineArn = `arn:${part(1)}:states:${part(3)}:${part(4)}:stateMachine:test-orchestration`;
      // Assess
      expect(trust.statement).toEqual([
        expect.objectContaining({
          actions: ['sts:AssumeRole'],
          condition: [
            { test: 'StringEquals', variable: 'aws:SourceAccount', values: [part(4)] },
            { test: 'ArnLike', variable: 'aws:SourceArn', values: [machineArn, `${machineArn}:*`] },
          ],
        }),
      ]);
    });

    it('logs errors without execution data to all streams of its log group', () => {
      expect(machine.logging_configuration).toEqual({
        log_destination: `${refTo(json, 'aws_cloudwatch_log_group', 'orchestration_logs', 'arn')}:*`,
        level: 'ERROR',
        include_execution_data: false,
      });
    });

    it('has X-Ray tracing off by default', () => {
      expect(machine.tracing_configuration).toEqual({ enabled: false });
    });

    it('depends on its role and every inline policy of the role (Step Functions checks them at creation)', () => {
      // Prepare
      const role = roleNamed(json, 'test-orchestration-role');
      const roleName = refTo(json, 'aws_iam_role', 'orchestration_role', 'name');
      const policies = Object.entries(resourcesOf(json, 'aws_iam_role_policy'))
        .filter(([, policy]) => policy.role === roleName)
        .map(([id]) => `aws_iam_role_policy.${id}`);
      // Assess
      expect(policies).toHaveLength(2);
      expect(machine.depends_on).toEqual(expect.arrayContaining([role.address, ...policies]));
    });

    it('keeps its logs under /aws/vendedlogs/states/ for 30 days', () => {
      const logGroup = resourceNamed(json, 'aws_cloudwatch_log_group', 'orchestration_logs');
      expect(logGroup).toEqual({ name: '/aws/vendedlogs/states/test-orchestration', retention_in_days: 30 });
    });
  });

  describe('definition', () => {
    it('is valid ASL as synthesized, with Terraform references as Resources', () => {
      // Act: the partition as Terraform resolves it (asl-validator checks an integration's ARN by pattern)
      const result = validateAsl(inPartition(definition, 'aws'));
      // Assess
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('is valid ASL with realistic Lambda ARNs in place of the references', () => {
      // Prepare
      const concrete = withRealisticReferences(json, definition);
      // Act
      const result = validateAsl(concrete);
      // Assess
      expect(JSON.stringify(concrete)).not.toContain('${aws_lambda_function.');
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('invokes exactly the four functions, each Task by reference to its function', () => {
      expect(Object.fromEntries(tasks.map(([name, s]) => [name, functionOf(s)]))).toEqual({
        [STATE.recordRejection]: fnArn('record-status'),
        [STATE.submit]: fnArn('submit-job'),
        [STATE.awaitJob]: fnArn('await-job'),
        [STATE.poll]: fnArn('poll-job'),
        [STATE.recordFailure]: fnArn('record-status'),
      });
      expect(new Set(tasks.map(([, s]) => functionOf(s)))).toEqual(new Set(FUNCTIONS.map(fnArn)));
    });

    it('reaches every state from StartAt', () => {
      expect([...reachableStates(definition)].sort()).toEqual(Object.keys(states).sort());
    });

    it('has no notification, alert or Lambda route state without notifications and Lambda routes', () => {
      expect(Object.keys(states).filter((name) => (NOTIFICATION_STATES as string[]).includes(name))).toEqual([]);
      expect(Object.keys(states).filter((name) => (LAMBDA_ROUTE_STATES as string[]).includes(name))).toEqual([]);
      expect(machine.definition).not.toContain('sns:publish');
    });

    it('starts with the validation Choice', () => {
      expect(definition.StartAt).toBe(STATE.validate);
      expect(states[STATE.validate].Type).toBe('Choice');
    });

    it('tests runRequestID, then processname, with IsPresent before IsString, then adds missing parameters, and compares no strings', () => {
      // Prepare
      const guard = (path: string) => ({ Or: [{ Not: { Variable: path, IsPresent: true } }, { Not: { Variable: path, IsString: true } }] });
      const validate = states[STATE.validate];
      // Assess
      expect(validate.Choices).toEqual([
        { ...guard('$.runRequestID'), Next: STATE.invalidInput },
        { ...guard('$.processname'), Next: STATE.rejectMissing },
        { Not: { Variable: '$.parameters', IsPresent: true }, Next: STATE.addParameters },
      ]);
      expect(validate.Default).toBe(STATE.chooseRoute);
      expect(JSON.stringify(validate)).not.toContain('StringEquals');
      expect(states[STATE.invalidInput].Type).toBe('Fail');
      expect(states[STATE.rejectMissing]).toMatchObject({ Type: 'Pass', ResultPath: '$.outcome', Next: STATE.recordRejection });
    });

    it('adds empty parameters, then routes', () => {
      expect(states[STATE.addParameters]).toEqual({ Type: 'Pass', Result: {}, ResultPath: '$.parameters', Next: STATE.chooseRoute });
    });

    it('compares processname only in the route Choice, which only the validation Choice and Add empty parameters lead to', () => {
      // Prepare
      const comparing = Object.entries(states)
        .filter(([, s]) => /"StringEquals"/.test(JSON.stringify(s)) && JSON.stringify(s).includes('$.processname'))
        .map(([name]) => name);
      const leadingToRouteChoice = Object.entries(states)
        .filter(([, s]) => transitionsOf(s).includes(STATE.chooseRoute))
        .map(([name]) => name);
      // Assess
      expect(comparing).toEqual([STATE.chooseRoute]);
      expect(leadingToRouteChoice.sort()).toEqual([STATE.addParameters, STATE.validate].sort());
    });

    it('routes each route name with one StringEquals, in order, and rejects any other name', () => {
      expect(states[STATE.chooseRoute]).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.processname', StringEquals: 'hello', Next: routeStateName('hello') },
          { Variable: '$.processname', StringEquals: 'slow', Next: routeStateName('slow') },
        ],
        Default: STATE.rejectUnknown,
      });
      expect(states[STATE.rejectUnknown]).toMatchObject({ Type: 'Pass', ResultPath: '$.outcome', Next: STATE.recordRejection });
    });

    it('puts the default route into $.route: queue by reference, definition by name, default limits, no artifacts bucket', () => {
      expect(states[routeStateName('hello')]).toEqual({
        Type: 'Pass',
        Result: {
          type: 'batch',
          name: 'hello',
          jobQueue: refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
          jobDefinition: resourceNamed(json, 'aws_batch_job_definition', 'job-hello').name,
          parameters: {},
          maxRunTimeSeconds: 86400,
          terminateOnTimeout: false,
          completion: 'events',
          polling: DEFAULT_EVENT_SAFETY_NET,
        },
        ResultPath: '$.route',
        Next: STATE.submit,
      });
    });

    it('puts the custom route into $.route with its polling merged over the defaults', () => {
      expect(states[routeStateName('slow')].Result).toEqual({
        type: 'batch',
        name: 'slow',
        jobQueue: refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
        jobDefinition: 'test-batch-slow',
        parameters: { seconds: '300' },
        maxRunTimeSeconds: 7200,
        terminateOnTimeout: true,
        completion: 'poll',
        polling: { initialSeconds: 10, multiplier: DEFAULT_POLLING.multiplier, maxSeconds: 600 },
      });
      expect(resourceNamed(json, 'aws_batch_job_definition', 'job-slow').name).toBe('test-batch-slow');
    });

    it('carries routes in the shape submit-job and poll-job accept', () => {
      for (const route of ['hello', 'slow']) {
        expect(() => parseInput(routeSchema, states[routeStateName(route)].Result, 'test')).not.toThrow();
      }
    });

    it('submits, then asks whether the job finished; a poll route waits $.job.waitSeconds before each poll', () => {
      expect(states[STATE.submit]).toMatchObject({ ResultPath: '$.job', Next: STATE.finished });
      expect(states[STATE.wait]).toEqual({ Type: 'Wait', SecondsPath: '$.job.waitSeconds', Next: STATE.poll });
      expect(states[STATE.poll]).toMatchObject({ ResultPath: '$.job', Next: STATE.finished });
    });

    it("takes the outcome of SUCCEEDED, FAILED and TIMED_OUT; otherwise a poll route waits, an events route awaits its job's end", () => {
      expect(states[STATE.finished]).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.job.status', StringEquals: 'SUCCEEDED', Next: STATE.succeededOutcome },
          { Variable: '$.job.status', StringEquals: 'FAILED', Next: STATE.jobFailedOutcome },
          { Variable: '$.job.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOutOutcome },
          { Variable: '$.route.completion', StringEquals: 'poll', Next: STATE.wait },
        ],
        Default: STATE.awaitJob,
      });
      expect(states[STATE.succeeded].Type).toBe('Succeed');
      expect(states[STATE.jobFailed].Type).toBe('Succeed');
      expect(states[STATE.timedOut].Type).toBe('Succeed');
    });

    it('without notifications, goes from every outcome straight to Finish', () => {
      // Prepare
      const outcomes = Object.entries(states).filter(([, s]) => s.ResultPath === '$.notification');
      // Assess
      expect(outcomes.map(([name]) => name).sort()).toEqual(
        [
          STATE.rejectedOutcome,
          STATE.succeededOutcome,
          STATE.jobFailedOutcome,
          `${STATE.timedOutOutcome} (job)`,
          `${STATE.timedOutOutcome} (route)`,
          STATE.failureOutcome,
        ].sort(),
      );
      for (const [name, outcome] of outcomes) {
        expect({ name, Type: outcome.Type, Next: outcome.Next }).toEqual({ name, Type: 'Pass', Next: STATE.finish });
      }
    });

    it('awaits the job with a task token, stored by await-job, until the safety-net check ($.job.waitSeconds), then polls', () => {
      expect(states[STATE.awaitJob]).toEqual({
        Type: 'Task',
        Resource: WAIT_FOR_TASK_TOKEN,
        Parameters: {
          FunctionName: fnArn('await-job'),
          Payload: { 'runRequestID.$': '$.runRequestID', 'jobId.$': '$.job.jobId', 'taskToken.$': '$$.Task.Token' },
        },
        TimeoutSecondsPath: '$.job.waitSeconds',
        ResultPath: '$.job',
        Retry: AWAIT_RETRY,
        Catch: [
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.check', Next: STATE.poll },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure },
        ],
        Next: STATE.finished,
      });
    });

    it('has five Tasks, each retrying with full jitter as TASK_RETRY says (the await never retries its timeout)', () => {
      expect(tasks.map(([name]) => name).sort()).toEqual([STATE.awaitJob, STATE.poll, STATE.recordFailure, STATE.recordRejection, STATE.submit].sort());
      for (const [name, task] of tasks) {
        expect({ name, Retry: task.Retry }).toEqual({ name, Retry: name === STATE.awaitJob ? AWAIT_RETRY : TASK_RETRY });
        expect((task.Retry as Json[]).every((r) => r.JitterStrategy === 'FULL')).toBe(true);
      }
    });

    it('retries the Lambda service errors and the transient errors the handlers raise', () => {
      for (const [, task] of tasks) {
        const retried = retriedErrors(task.Retry as Json[]);
        expect(retried).toEqual(
          expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException']),
        );
        expect(retried).toEqual(expect.arrayContaining(['ThrottledError', 'BatchServerError', 'AwsServiceError']));
        expect(retried).toEqual(expect.arrayContaining([...TRANSIENT_ERROR_NAMES]));
      }
    });

    it('catches every error of every Task but Record failure into Record failure, keeping it at $.error (the await, once its timeout is caught)', () => {
      for (const [name, task] of tasks.filter(([n]) => n !== STATE.recordFailure)) {
        expect({ name, Catch: (task.Catch as Json[]).at(-1) }).toEqual({ name, Catch: { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure } });
        expect({ name, catchers: task.Catch.length }).toEqual({ name, catchers: name === STATE.awaitJob ? 2 : 1 });
      }
    });

    it('lets Record failure catch its own errors into the Fail state, keeping $.error, and otherwise take the failure outcome', () => {
      const recordFailure = states[STATE.recordFailure];
      expect(recordFailure.Catch).toHaveLength(1);
      expect(recordFailure.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: STATE.failed });
      expect(recordFailure.Catch[0].ResultPath).not.toBe('$.error');
      expect(recordFailure.Next).toBe(STATE.failureOutcome);
      expect(states[STATE.failed].Type).toBe('Fail');
    });

    it('records a failure with the error name only, never its cause', () => {
      expect(states[STATE.recordFailure].Parameters).toEqual({
        'runRequestID.$': '$.runRequestID',
        status: 'FAILED',
        'reason.$': "States.Format('orchestration error: {}', $.error.Error)",
      });
      expect(machine.definition).not.toContain('$.error.Cause');
    });

    it('gives every Task but the await (timed by the safety net) a timeout longer than its function timeout', () => {
      const bundleOf: Record<string, (typeof FUNCTIONS)[number]> = {
        [STATE.recordRejection]: 'record-status',
        [STATE.submit]: 'submit-job',
        [STATE.poll]: 'poll-job',
        [STATE.recordFailure]: 'record-status',
      };
      for (const [name, task] of tasks.filter(([n]) => n !== STATE.awaitJob)) {
        const fn = resourceNamed(json, 'aws_lambda_function', `${bundleOf[name]}_function`);
        expect(task.Resource).toBe(fnArn(bundleOf[name]));
        expect(task.TimeoutSeconds).toBeGreaterThan(fn.timeout as number);
      }
    });

    it('holds no literal account id or region, and no ARN but the task-token integration', () => {
      const text = machine.definition as string;
      expect(text).not.toMatch(/\d{12}/);
      expect(text).not.toMatch(/\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d+\b/);
      expect(text).not.toContain('arn:aws');
      expect(text.match(/arn:[^"]*/g)).toEqual([WAIT_FOR_TASK_TOKEN]);
    });
  });

  describe('IAM', () => {
    it('lets the state machine invoke exactly the four functions and deliver logs, nothing more', () => {
      const fns = FUNCTIONS.map((f) => readable(json, 'aws_lambda_function', `${f}_function`, 'arn'));
      expect(roleNamed(json, 'test-orchestration-role').statements).toEqual([allow(['lambda:InvokeFunction'], fns.flatMap((f) => [f, `${f}:*`])), LOGS_DELIVERY]);
    });

    it('lets submit-job submit to the queue with the routed job definitions, tag jobs, list jobs, and update statuses', () => {
      // Prepare
      const queue = readable(json, 'aws_batch_job_queue', 'queue', 'arn');
      const table = readable(json, 'aws_dynamodb_table', 'table', 'arn');
      const submitFor = (route: string) => allow(['batch:SubmitJob'], [queue, `${readable(json, 'aws_batch_job_definition', `job-${route}`, 'arn_prefix')}:*`]);
      // Assess: tagging, listing and cancelling a duplicate once, whatever the number of routes.
      expect(sorted(roleNamed(json, 'test-orchestration-submit-job-role').statements)).toEqual(
        sorted([
          submitFor('hello'),
          submitFor('slow'),
          tagOwnJobs(json),
          allow(['batch:ListJobs'], ['*']),
          terminateOwnJobs(json),
          allow(['dynamodb:UpdateItem'], [table]),
          allow(['dynamodb:GetItem'], [table]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'submit-job_logs', 'arn')}:*`]),
        ]),
      );
    });

    it("lets poll-job describe jobs, terminate the gateway's own jobs, update statuses, and read the end an event recorded", () => {
      expect(sorted(roleNamed(json, 'test-orchestration-poll-job-role').statements)).toEqual(
        sorted([
          allow(['batch:DescribeJobs'], ['*']),
          terminateOwnJobs(json),
          allow(['dynamodb:UpdateItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['dynamodb:GetItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'poll-job_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('lets record-status update statuses in the table and write its logs, nothing else (it reads no item)', () => {
      expect(sorted(roleNamed(json, 'test-orchestration-record-status-role').statements)).toEqual(
        sorted([
          allow(['dynamodb:UpdateItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'record-status_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('without artifacts, grants the job roles nothing', () => {
      expect(roleNamed(json, 'test-batch-job-hello').statements).toEqual([]);
      expect(roleNamed(json, 'test-batch-job-slow').statements).toEqual([]);
    });

    it('grants no wildcard action to any role', () => {
      const actions = rolesOf(json).flatMap((r) => r.statements.flatMap((s) => s.actions));
      expect(actions.length).toBeGreaterThan(0);
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    });
  });

  describe('functions', () => {
    it.each(FUNCTIONS)('%s runs its own bundle on Node.js 22, arm64, with a 60 s timeout', (bundle) => {
      // Prepare
      const fn = resourceNamed(json, 'aws_lambda_function', `${bundle}_function`);
      // Assess
      expect(fn).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler', timeout: 60 });
      expect(fn.source_code_hash).toBe(bundleHash(bundle));
      expect(fn.role).toBe(refTo(json, 'aws_iam_role', `${bundle}_role`, 'arn'));
    });

    it.each(FUNCTIONS)('%s is told the table name and keeps finished requests 90 days', (bundle) => {
      expect(resourceNamed(json, 'aws_lambda_function', `${bundle}_function`).environment.variables).toMatchObject({
        TABLE_NAME: refTo(json, 'aws_dynamodb_table', 'table', 'name'),
        FINISHED_RETENTION_DAYS: '90',
      });
    });

    it('runs four distinct bundles', () => {
      expect(new Set(FUNCTIONS.map(bundleHash)).size).toBe(4);
    });
  });
});

describe('Orchestration with notifications, artifacts, a Lambda route and two Batch routes', () => {
  // Prepare + Act
  const json = synthOrchestration(withEverything());
  const machine = onlyResource(json, 'aws_sfn_state_machine');
  const definition = definitionOf(json);
  const states = definition.States as Record<string, Json>;
  const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');
  const fnArn = (idPart: string) => refTo(json, 'aws_lambda_function', `${idPart}_function`, 'arn');
  const routeFn = fnArn('generate-barcode');
  const notifyFn = fnArn('notify');
  const topicArn = refTo(json, 'aws_sns_topic', 'failures', 'arn');
  const bucketName = refTo(json, 'aws_s3_bucket', 'artifacts', 'bucket');
  const bucketObjects = `${readable(json, 'aws_s3_bucket', 'artifacts', 'arn')}/*`;
  const run = states[runRouteStateName(LAMBDA_ROUTE)];

  describe('definition', () => {
    it('reaches every state from StartAt', () => {
      expect([...reachableStates(definition)].sort()).toEqual(Object.keys(states).sort());
    });

    it('is valid ASL as synthesized', () => {
      const result = validateAsl(inPartition(definition, 'aws'));
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('is valid ASL with realistic function, queue and topic ARNs and bucket name in place of the references', () => {
      // Prepare
      const concrete = withRealisticReferences(json, definition);
      // Act
      const result = validateAsl(concrete);
      // Assess
      expect(JSON.stringify(concrete)).not.toContain('${');
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('invokes the orchestration functions, the route function and notify, and publishes to SNS', () => {
      expect(Object.fromEntries(tasks.map(([name, s]) => [name, s.Resource]))).toEqual({
        [STATE.recordRejection]: fnArn('record-status'),
        [startRouteStateName(LAMBDA_ROUTE)]: fnArn('record-status'),
        [runRouteStateName(LAMBDA_ROUTE)]: routeFn,
        [STATE.recordRouteSuccess]: fnArn('record-status'),
        [STATE.recordRouteTimeout]: fnArn('record-status'),
        [STATE.submit]: fnArn('submit-job'),
        [STATE.awaitJob]: WAIT_FOR_TASK_TOKEN,
        [STATE.poll]: fnArn('poll-job'),
        [STATE.recordFailure]: fnArn('record-status'),
        [STATE.alert]: SNS_PUBLISH,
        [STATE.notify]: notifyFn,
        [STATE.recordNotificationFailure]: fnArn('record-status'),
      });
    });

    it('routes the three routes in the order given', () => {
      expect(states[STATE.chooseRoute].Choices).toEqual(
        ['hello', 'slow', LAMBDA_ROUTE].map((name) => ({ Variable: '$.processname', StringEquals: name, Next: routeStateName(name) })),
      );
    });

    it('gives the Batch routes the artifacts bucket, in the shape submit-job accepts', () => {
      for (const route of ['hello', 'slow']) {
        const result = states[routeStateName(route)].Result as Json;
        expect(result).toMatchObject({ type: 'batch', name: route, artifactsBucket: bucketName });
        expect(parseInput(routeSchema, result, 'test').artifactsBucket).toBe(bucketName);
      }
    });

    it('puts the Lambda route into $.route, then records it RUNNING without touching the state', () => {
      expect(states[routeStateName(LAMBDA_ROUTE)]).toEqual({
        Type: 'Pass',
        Result: { type: 'lambda', name: LAMBDA_ROUTE, functionArn: routeFn, maxRunTimeSeconds: LAMBDA_ROUTE_SECONDS },
        ResultPath: '$.route',
        Next: startRouteStateName(LAMBDA_ROUTE),
      });
      expect(states[startRouteStateName(LAMBDA_ROUTE)]).toMatchObject({
        Resource: fnArn('record-status'),
        Parameters: { 'runRequestID.$': '$.runRequestID', status: 'RUNNING' },
        ResultPath: null,
        Retry: TASK_RETRY,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure }],
        Next: runRouteStateName(LAMBDA_ROUTE),
      });
    });

    it("runs the route function with the request, its parameters and the run request's own artifacts prefix", () => {
      expect(run.Parameters).toEqual({
        'runRequestID.$': '$.runRequestID',
        'processname.$': '$.processname',
        'parameters.$': '$.parameters',
        artifacts: { bucket: bucketName, 'prefix.$': "States.Format('{}/', $.runRequestID)" },
      });
      expect(run).toMatchObject({ ResultPath: '$.result', Next: STATE.routeResultPresent });
    });

    it("bounds the route function by the route's maxRunTimeSeconds and retries neither its timeout nor its crash", () => {
      expect(run.TimeoutSeconds).toBe(LAMBDA_ROUTE_SECONDS);
      expect(run.Retry).toEqual(ROUTE_RETRY);
      expect(retriedErrors(run.Retry as Json[])).not.toContain('States.Timeout');
      expect(retriedErrors(run.Retry as Json[])).not.toContain('Lambda.Unknown');
      expect(retriedErrors(run.Retry as Json[])).not.toContain('Sandbox.Timedout');
      expect(retriedErrors(run.Retry as Json[])).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException', ...TRANSIENT_ERROR_NAMES]));
    });

    it('catches a route timeout as Route timed out, before the catch-all into Record failure', () => {
      expect(run.Catch).toEqual([
        // A function's own timeout goes by either name AWS documents for it.
        { ErrorEquals: ['States.Timeout', 'Lambda.Unknown', 'Sandbox.Timedout'], ResultPath: '$.error', Next: STATE.routeTimedOut },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure },
      ]);
    });

    it('fails a result without a boolean ok, or a rejection without a message, as InvalidRouteResult, and splits ok results from rejected input', () => {
      expect(states[STATE.routeResultPresent]).toEqual({
        Type: 'Choice',
        Choices: [
          { Or: [{ Not: { Variable: '$.result.ok', IsPresent: true } }, { Not: { Variable: '$.result.ok', IsBoolean: true } }], Next: STATE.invalidRouteResult },
          {
            And: [{ Variable: '$.result.ok', BooleanEquals: false }, { Or: [{ Not: { Variable: '$.result.message', IsPresent: true } }, { Not: { Variable: '$.result.message', IsString: true } }] }],
            Next: STATE.invalidRouteResult,
          },
        ],
        Default: STATE.routeResult,
      });
      expect(states[STATE.invalidRouteResult]).toEqual({ Type: 'Pass', Result: { Error: 'InvalidRouteResult' }, ResultPath: '$.error', Next: STATE.recordFailure });
      expect(states[STATE.routeResult]).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.result.ok', BooleanEquals: true, Next: STATE.recordRouteSuccess }],
        Default: STATE.rejectRouteInput,
      });
    });

    it('records a route success and hands its url, when it has one, to the client', () => {
      expect(states[STATE.recordRouteSuccess]).toMatchObject({
        Parameters: { 'runRequestID.$': '$.runRequestID', status: 'SUCCEEDED' },
        ResultPath: '$.outcome',
        Next: STATE.routeLink,
      });
      expect(states[STATE.routeLink]).toEqual({
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.result.url', IsPresent: true }, { Variable: '$.result.url', IsString: true }], Next: STATE.routeSucceededOutcome }],
        Default: STATE.routeSucceededWithoutLinkOutcome,
      });
      expect(states[STATE.routeSucceededOutcome]).toEqual({
        Type: 'Pass',
        Parameters: { status: 'SUCCEEDED', 'url.$': '$.result.url' },
        ResultPath: '$.notification',
        Next: STATE.notifyChoice,
      });
    });

    it("rejects the route's bad input with the route's message, through Record rejection", () => {
      expect(states[STATE.rejectRouteInput]).toEqual({
        Type: 'Pass',
        Parameters: { status: 'REJECTED', 'reason.$': '$.result.message' },
        ResultPath: '$.outcome',
        Next: STATE.recordRejection,
      });
    });

    it('records a route timeout as TIMED_OUT with its reason, then takes the timed-out outcome', () => {
      expect(states[STATE.routeTimedOut]).toEqual({
        Type: 'Pass',
        Parameters: { status: 'TIMED_OUT', 'reason.$': "States.Format('maximum run time of {} s exceeded', $.route.maxRunTimeSeconds)" },
        ResultPath: '$.outcome',
        Next: STATE.recordRouteTimeout,
      });
      expect(states[STATE.recordRouteTimeout]).toMatchObject({
        Resource: fnArn('record-status'),
        Parameters: { 'runRequestID.$': '$.runRequestID', status: 'TIMED_OUT', 'reason.$': '$.outcome.reason' },
        ResultPath: '$.outcome',
        Next: STATE.timedOutOutcome,
      });
    });

    it("tells a Batch timeout (the job's reason) from a route timeout (the recorded reason)", () => {
      expect(states[STATE.timedOutOutcome]).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.job.reason', IsPresent: true, Next: `${STATE.timedOutOutcome} (job)` }],
        Default: `${STATE.timedOutOutcome} (route)`,
      });
    });

    it.each([
      { name: STATE.rejectedOutcome, parameters: { status: 'REJECTED', error: { code: 'REJECTED', 'message.$': '$.outcome.reason' } }, next: STATE.notifyChoice },
      { name: STATE.succeededOutcome, parameters: { status: 'SUCCEEDED' }, next: STATE.notifyChoice },
      { name: STATE.routeSucceededOutcome, parameters: { status: 'SUCCEEDED', 'url.$': '$.result.url' }, next: STATE.notifyChoice },
      { name: STATE.jobFailedOutcome, parameters: { status: 'FAILED', error: { code: 'JOB_FAILED', 'message.$': '$.job.reason' } }, next: STATE.alert },
      { name: `${STATE.timedOutOutcome} (job)`, parameters: { status: 'TIMED_OUT', error: { code: 'TIMED_OUT', 'message.$': '$.job.reason' } }, next: STATE.alert },
      { name: `${STATE.timedOutOutcome} (route)`, parameters: { status: 'TIMED_OUT', error: { code: 'TIMED_OUT', 'message.$': '$.outcome.reason' } }, next: STATE.alert },
      { name: STATE.failureOutcome, parameters: { status: 'FAILED', error: { code: 'ORCHESTRATION_ERROR', 'message.$': '$.outcome.reason' } }, next: STATE.alert },
    ])('$name writes $.notification and goes on to $next', ({ name, parameters, next }) => {
      expect(states[name]).toEqual({ Type: 'Pass', Parameters: parameters, ResultPath: '$.notification', Next: next });
    });

    it('alerts exactly the FAILED and TIMED_OUT outcomes', () => {
      const intoAlert = Object.entries(states)
        .filter(([, s]) => transitionsOf(s).includes(STATE.alert))
        .map(([name]) => name);
      expect(intoAlert.sort()).toEqual([STATE.jobFailedOutcome, `${STATE.timedOutOutcome} (job)`, `${STATE.timedOutOutcome} (route)`, STATE.failureOutcome].sort());
    });

    it('publishes an alert to the failure topic by reference, keeping the state as it was', () => {
      const alert = states[STATE.alert];
      expect(alert).toMatchObject({ Type: 'Task', Resource: SNS_PUBLISH, ResultPath: null, Next: STATE.notifyChoice });
      expect(alert.Parameters).toEqual({
        TopicArn: topicArn,
        Subject: expect.any(String),
        'Message.$': expect.stringMatching(/^States\.Format\(/),
      });
      expect(alert.Parameters['Message.$']).toContain('$.runRequestID');
      expect(alert.Parameters['Message.$']).toContain('$.notification.status');
      expect(alert.Parameters['Message.$']).toContain('$.notification.error.message');
    });

    it('goes on after a lost alert exactly as after a sent one (an alert changes no outcome)', () => {
      const alert = states[STATE.alert];
      expect(alert.Catch).toHaveLength(1);
      expect(alert.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: alert.Next });
      expect(alert.Catch[0].ResultPath).not.toMatch(/^\$\.(notification|error|outcome)$/);
      expect((alert.Retry as Json[]).every((r) => r.JitterStrategy === 'FULL')).toBe(true);
    });

    it('notifies only a request with a client id and a caller identity', () => {
      expect(states[STATE.notifyChoice]).toEqual({
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.clientId', IsPresent: true }, { Variable: '$.callerIdentity', IsPresent: true }], Next: STATE.notify }],
        Default: STATE.finish,
      });
    });

    it('hands notify the request, its client, its caller and $.notification', () => {
      expect(states[STATE.notify]).toMatchObject({
        Resource: notifyFn,
        Parameters: { 'runRequestID.$': '$.runRequestID', 'clientId.$': '$.clientId', 'callerIdentity.$': '$.callerIdentity', 'notification.$': '$.notification' },
        Retry: TASK_RETRY,
        Next: STATE.finish,
      });
      expect(states[STATE.notify].ResultPath).not.toMatch(/^\$\.(notification|error|outcome)$/);
    });

    it('records a failed notification and finishes, never going to a Fail state', () => {
      // Prepare
      const notify = states[STATE.notify];
      const record = states[STATE.recordNotificationFailure];
      // Assess
      expect(notify.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: STATE.recordNotificationFailure }]);
      expect(record).toMatchObject({
        Resource: fnArn('record-status'),
        Parameters: { 'runRequestID.$': '$.runRequestID', notification: 'FAILED', 'reason.$': "States.Format('notification error: {}', $.notifyError.Error)" },
        ResultPath: null,
        Retry: TASK_RETRY,
        Next: STATE.finish,
      });
      expect(record.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: STATE.finish }]);
      expect([...transitionsOf(notify), ...transitionsOf(record)].filter((next) => (FAIL_STATES as string[]).includes(next))).toEqual([]);
    });

    it("finishes by the outcome: every recorded outcome succeeds (a failed or timed-out job is the user's), an orchestration fault fails", () => {
      expect(states[STATE.finish]).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.notification.status', StringEquals: 'SUCCEEDED', Next: STATE.succeeded },
          { Variable: '$.notification.status', StringEquals: 'REJECTED', Next: STATE.rejected },
          { Variable: '$.notification.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOut },
          { Variable: '$.notification.error.code', StringEquals: 'JOB_FAILED', Next: STATE.jobFailed },
        ],
        Default: STATE.failed,
      });
      expect(states[STATE.succeeded]).toEqual({ Type: 'Succeed' });
      expect(states[STATE.rejected]).toEqual({ Type: 'Succeed' });
      expect(states[STATE.timedOut]).toEqual({ Type: 'Succeed' });
      expect(states[STATE.jobFailed]).toEqual({ Type: 'Succeed' });
      expect(states[STATE.failed]).toMatchObject({ Type: 'Fail', Error: 'OrchestrationFailed' });
      expect(Object.entries(states).filter(([, s]) => s.Type === 'Fail').map(([name]) => name).sort()).toEqual([...FAIL_STATES].sort());
    });

    it('reaches the terminal states only through Finish, but for the invalid input and a failed Record failure', () => {
      const terminals = Object.entries(states).filter(([, s]) => s.Type === 'Succeed' || s.Type === 'Fail');
      for (const [terminal] of terminals) {
        const from = Object.entries(states)
          .filter(([, s]) => transitionsOf(s).includes(terminal))
          .map(([name]) => name);
        const expected = terminal === STATE.invalidInput ? [STATE.validate] : terminal === STATE.failed ? [STATE.finish, STATE.recordFailure] : [STATE.finish];
        expect({ terminal, from: from.sort() }).toEqual({ terminal, from: expected.sort() });
      }
    });

    it('retries every orchestration Task as TASK_RETRY says, and catches all but the failure and notification records into Record failure', () => {
      const orchestrationTasks = tasks.filter(([name]) => name !== STATE.alert && name !== runRouteStateName(LAMBDA_ROUTE));
      for (const [name, task] of orchestrationTasks) {
        expect({ name, Retry: task.Retry }).toEqual({ name, Retry: name === STATE.awaitJob ? AWAIT_RETRY : TASK_RETRY });
        if (name === STATE.recordFailure || name === STATE.notify || name === STATE.recordNotificationFailure) continue;
        expect({ name, Catch: (task.Catch as Json[]).at(-1) }).toEqual({ name, Catch: { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure } });
      }
    });

    it('gives every function Task but the route a timeout longer than its function timeout', () => {
      const functions = resourcesOf(json, 'aws_lambda_function');
      const timeoutOf = (resource: string) => Object.entries(functions).find(([id]) => resource === `\${aws_lambda_function.${id}.arn}`)?.[1].timeout as number;
      for (const [name, task] of tasks.filter(([n]) => n !== STATE.alert && n !== runRouteStateName(LAMBDA_ROUTE) && n !== STATE.awaitJob)) {
        expect({ name, longer: task.TimeoutSeconds > timeoutOf(task.Resource as string) }).toEqual({ name, longer: true });
      }
    });

    it('never reads $.processname in a state a request without processname can reach (a missing path fails the execution, uncaught)', () => {
      // A request without processname goes to Record rejection; when that fails, Record failure
      // leads on to Failure outcome and Alert failure. A JSONPath that is not in the input is a
      // States.Runtime error there, which no Catch (not even States.ALL) catches.
      const reachable = [...reachableStates(definition, STATE.rejectMissing)];
      const reading = reachable.filter((name) => pathsReadBy(states[name]).includes('$.processname'));
      expect(reading).toEqual([]);
    });

    it('holds no literal account id or region, and no ARN but the task-token and SNS integrations', () => {
      const text = machine.definition as string;
      expect(text).not.toMatch(/\d{12}/);
      expect(text).not.toMatch(/\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d+\b/);
      // Each in the provider's partition: another partition's ARN fails the state with States.Runtime.
      expect(text).not.toContain('arn:aws');
      expect(text.match(/arn:[^"]*/g)).toEqual([WAIT_FOR_TASK_TOKEN, SNS_PUBLISH]);
    });
  });

  describe('IAM', () => {
    it('lets the state machine invoke the four functions, the route function and notify, publish to the topic, and deliver logs', () => {
      // Prepare
      const invocable = [...FUNCTIONS.map((f) => `${f}_function`), 'generate-barcode_function'].map((f) => readable(json, 'aws_lambda_function', f, 'arn'));
      const notify = readable(json, 'aws_lambda_function', 'notify_function', 'arn');
      // Assess
      expect(sorted(roleNamed(json, 'test-orchestration-role').statements)).toEqual(
        sorted([
          allow(['lambda:InvokeFunction'], invocable.flatMap((f) => [f, `${f}:*`])),
          allow(['lambda:InvokeFunction'], [notify, `${notify}:*`]),
          allow(['sns:Publish'], [readable(json, 'aws_sns_topic', 'failures', 'arn')]),
          LOGS_DELIVERY,
        ]),
      );
    });

    it('is created after the notifications policy of its role', () => {
      const roleName = refTo(json, 'aws_iam_role', 'orchestration_role', 'name');
      const policies = Object.entries(resourcesOf(json, 'aws_iam_role_policy'))
        .filter(([, policy]) => policy.role === roleName)
        .map(([id]) => `aws_iam_role_policy.${id}`);
      expect(policies).toHaveLength(3);
      expect(machine.depends_on).toEqual(expect.arrayContaining(policies));
    });

    it("lets the route function put and get objects in the bucket's keys, and nothing else in S3", () => {
      const role = roleNamed(json, 'test-barcode-generate-barcode-role');
      expect(sorted(role.statements.filter((s) => s.actions.some((a) => a.startsWith('s3:'))))).toEqual(
        sorted([allow(['s3:PutObject'], [bucketObjects]), allow(['s3:GetObject'], [bucketObjects])]),
      );
      expect(role.statements).toHaveLength(3);
    });

    it.each(['hello', 'slow'])("lets the created job role of route %s put objects in the bucket's keys, only", (route) => {
      expect(roleNamed(json, `test-batch-job-${route}`).statements).toEqual([allow(['s3:PutObject'], [bucketObjects])]);
    });

    it('grants no wildcard action to any role', () => {
      const actions = rolesOf(json).flatMap((r) => r.statements.flatMap((s) => s.actions));
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    });
  });
});

describe("Orchestration: a job's end from Batch's events", () => {
  const json = synthOrchestration();
  const table = readable(json, 'aws_dynamodb_table', 'table', 'arn');
  const rule = onlyResource(json, 'aws_cloudwatch_event_rule');
  const logsOf = (fn: string) => allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', `${fn}_logs`, 'arn')}:*`]);
  // SendTaskSuccess has no resource type in the service authorization reference: only "*".
  const sendTaskSuccess = allow(['states:SendTaskSuccess'], ['*']);

  it("takes only the Batch job state changes of the events routes' queues: running and ended jobs", () => {
    expect(rule.name).toBe('test-orchestration-batch-events');
    expect(JSON.parse(rule.event_pattern as string)).toEqual({
      source: [BATCH_JOB_STATE_CHANGE.source],
      'detail-type': [BATCH_JOB_STATE_CHANGE.detailType],
      detail: { jobQueue: [refTo(json, 'aws_batch_job_queue', 'queue', 'arn')], status: [...JOB_EVENT_STATUSES] },
    });
    expect(JOB_EVENT_STATUSES).toEqual(['RUNNING', 'SUCCEEDED', 'FAILED']);
  });

  it('delivers them to job-events, retried for an hour, and lets only this rule invoke it', () => {
    const fnArn = refTo(json, 'aws_lambda_function', 'job-events_function', 'arn');
    expect(onlyResource(json, 'aws_cloudwatch_event_target')).toEqual({
      rule: refTo(json, 'aws_cloudwatch_event_rule', 'batch-events_rule', 'name'),
      arn: fnArn,
      retry_policy: { maximum_event_age_in_seconds: 3600, maximum_retry_attempts: 20 },
      dead_letter_config: { arn: refTo(json, 'aws_sqs_queue', 'failed-events', 'arn') },
      depends_on: [expect.stringMatching(/^aws_sqs_queue_policy\..*failed-events-policy/)],
    });
    expect(onlyResource(json, 'aws_lambda_permission')).toEqual({
      action: 'lambda:InvokeFunction',
      function_name: refTo(json, 'aws_lambda_function', 'job-events_function', 'function_name'),
      principal: 'events.amazonaws.com',
      source_arn: refTo(json, 'aws_cloudwatch_event_rule', 'batch-events_rule', 'arn'),
    });
  });

  describe('events never handled (issue 17, fault 12)', () => {
    const queue = resourceNamed(json, 'aws_sqs_queue', 'failed-events');
    const queueArn = refTo(json, 'aws_sqs_queue', 'failed-events', 'arn');
    const docs = json.data.aws_iam_policy_document as Record<string, { statement: Record<string, unknown>[] }>;

    it('keeps them 14 days in an SSE-encrypted queue, like the stream trigger dead letters', () => {
      expect(queue).toMatchObject({ name: 'test-orchestration-batch-events-failed-events', message_retention_seconds: 1209600, sqs_managed_sse_enabled: true });
    });

    it("sends to it what job-events failed on after Lambda's retries (2 for a function error, 6 hours for a throttled event), with job-events' role", () => {
      expect(onlyResource(json, 'aws_lambda_function_event_invoke_config')).toEqual({
        function_name: refTo(json, 'aws_lambda_function', 'job-events_function', 'function_name'),
        maximum_retry_attempts: 2,
        maximum_event_age_in_seconds: 21600,
        destination_config: { on_failure: { destination: queueArn } },
        depends_on: expect.arrayContaining([expect.stringMatching(/^aws_iam_role_policy\..*job-events.*failed-events/)]),
      });
    });

    it('lets only this rule send its dead letters there as EventBridge, and nothing over plain HTTP', () => {
      const [, policy] = Object.entries(docs).find(([id]) => id.includes('failed-events-policy-document'))!;
      expect(onlyResource(json, 'aws_sqs_queue_policy')).toMatchObject({ queue_url: refTo(json, 'aws_sqs_queue', 'failed-events', 'url') });
      expect(policy.statement).toEqual([
        expect.objectContaining({ sid: 'DenyInsecureTransport', effect: 'Deny', actions: ['sqs:*'], resources: [queueArn], condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }] }),
        {
          sid: 'RuleDeadLetters',
          effect: 'Allow',
          actions: ['sqs:SendMessage'],
          resources: [queueArn],
          principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
          condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [refTo(json, 'aws_cloudwatch_event_rule', 'batch-events_rule', 'arn')] }],
        },
      ]);
    });

    it('refuses a retention SQS does not take', () => {
      expect(() => synthStack((stack) => new JobEvents(stack, 'events', { jobQueueArns: ['arn:aws:batch:eu-west-1:1:job-queue/q'], target: new LambdaFunction(stack, 'fn', { bundle: 'job-events' }), failedEventsRetentionSeconds: 30 }))).toThrow(
        'JobEvents: failedEventsRetentionSeconds must be a whole number of seconds from 60 to 1209600 (got 30)',
      );
    });
  });

  it('lets job-events record statuses, read the run request, wake the waiting execution and send what failed to its queue, nothing else', () => {
    expect(sorted(roleNamed(json, 'test-orchestration-job-events-role').statements)).toEqual(
      sorted([
        allow(['dynamodb:UpdateItem'], [table]),
        allow(['dynamodb:GetItem'], [table]),
        sendTaskSuccess,
        logsOf('job-events'),
        allow(['sqs:SendMessage'], [readable(json, 'aws_sqs_queue', 'failed-events', 'arn')]),
      ]),
    );
  });

  it('lets await-job store its token (an update that returns the item) and wake the execution, nothing else', () => {
    expect(sorted(roleNamed(json, 'test-orchestration-await-job-role').statements)).toEqual(sorted([allow(['dynamodb:UpdateItem'], [table]), sendTaskSuccess, logsOf('await-job')]));
  });

  it('creates no await-job, job-events or rule when every Batch route polls, and keeps poll-job from reading items', () => {
    const polling = synthOrchestration((batch) => ({ routes: { hello: { target: batch.jobTarget('hello'), completion: 'poll' } } }));
    const functions = Object.values(resourcesOf(polling, 'aws_lambda_function')).map((f) => f.function_name);
    expect(functions.sort()).toEqual(['test-orchestration-poll-job', 'test-orchestration-record-status', 'test-orchestration-submit-job']);
    expect(resourcesOf(polling, 'aws_cloudwatch_event_rule')).toEqual({});
    expect(definitionOf(polling).States[STATE.awaitJob]).toBeUndefined();
    expect(roleNamed(polling, 'test-orchestration-poll-job-role').statements.flatMap((s) => s.actions)).not.toContain('dynamodb:GetItem');
  });

  it('rejects a completion mode it does not know', () => {
    expect(buildOrchestration((batch) => ({ routes: { hello: { target: batch.jobTarget('hello'), completion: 'webhook' as never } } }))).toThrow(/completion must be one of events, poll/);
  });
});

describe('Orchestration options', () => {
  it('routes unknown process names to the defaultRoute', () => {
    // Prepare + Act
    const definition = definitionOf(synthOrchestration(() => ({ defaultRoute: 'hello' })));
    // Assess
    expect(definition.States[STATE.chooseRoute].Default).toBe(routeStateName('hello'));
    expect(definition.States[STATE.chooseRoute].Choices).toHaveLength(2);
  });

  it('with a defaultRoute, still reaches every state (Step Functions rejects unreachable states)', () => {
    const definition = definitionOf(synthOrchestration(() => ({ defaultRoute: 'hello' })));
    const unreachable = Object.keys(definition.States).filter((name) => !reachableStates(definition).has(name));
    expect(unreachable).toEqual([]);
  });

  it('with a defaultRoute, is valid ASL', () => {
    // Prepare
    const json = synthOrchestration(() => ({ defaultRoute: 'hello' }));
    // Act
    const result = validateAsl(withRealisticReferences(json, definitionOf(json)));
    // Assess
    expect(result.errors).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('may take a Lambda route as the defaultRoute', () => {
    const definition = definitionOf(synthOrchestration((batch, stack, table) => ({ ...withEverything()(batch, stack, table), defaultRoute: LAMBDA_ROUTE })));
    expect(definition.States[STATE.chooseRoute].Default).toBe(routeStateName(LAMBDA_ROUTE));
    expect(definition.States[STATE.rejectUnknown]).toBeUndefined();
    expect(Object.keys(definition.States).filter((name) => !reachableStates(definition).has(name))).toEqual([]);
  });

  it('passes finishedRetentionDays to every function', () => {
    const json = synthOrchestration(() => ({ finishedRetentionDays: 30 }));
    for (const fn of Object.values(resourcesOf(json, 'aws_lambda_function'))) {
      expect(fn.environment.variables.FINISHED_RETENTION_DAYS).toBe('30');
    }
  });

  it('sets the log level, execution data, tracing and log retention', () => {
    // Prepare + Act
    const json = synthOrchestration(() => ({ logLevel: 'ALL', logExecutionData: true, tracing: true, logRetentionDays: 14 }));
    const machine = onlyResource(json, 'aws_sfn_state_machine');
    // Assess
    expect(machine.logging_configuration).toMatchObject({ level: 'ALL', include_execution_data: true });
    expect(machine.tracing_configuration).toEqual({ enabled: true });
    expect(resourceNamed(json, 'aws_cloudwatch_log_group', 'orchestration_logs').retention_in_days).toBe(14);
    for (const fn of Object.values(resourcesOf(json, 'aws_lambda_function'))) {
      expect(fn.tracing_config).toEqual({ mode: 'Active' });
    }
  });

  it('with tracing, lets the state machine write traces and depends on that policy too', () => {
    const json = synthOrchestration(() => ({ tracing: true }));
    const statements = roleNamed(json, 'test-orchestration-role').statements;
    expect(statements).toContainEqual(allow(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], ['*']));
    expect(onlyResource(json, 'aws_sfn_state_machine').depends_on).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_iam_role_policy\.orchestration_role_xray-policy_/)]),
    );
  });

  it('grants once when two routes run the same job definition, and not the unrouted one', () => {
    // Prepare
    const sameDefinition: Options = (batch) => ({
      routes: { hello: { target: batch.jobTarget('hello') }, again: { target: batch.jobTarget('hello'), maxRunTimeSeconds: 600 } },
    });
    // Act
    const json = synthOrchestration(sameDefinition);
    // Assess
    const statements = roleNamed(json, 'test-orchestration-submit-job-role').statements;
    expect(statements.filter((s) => s.actions.includes('batch:SubmitJob'))).toEqual([
      allow(['batch:SubmitJob'], [
        readable(json, 'aws_batch_job_queue', 'queue', 'arn'),
        `${readable(json, 'aws_batch_job_definition', 'job-hello', 'arn_prefix')}:*`,
      ]),
    ]);
    expect(statements.filter((s) => s.actions.includes('batch:TagResource'))).toHaveLength(1);
    expect(roleNamed(json, 'test-orchestration-poll-job-role').statements.filter((s) => s.actions.includes('batch:TerminateJob'))).toHaveLength(1);
  });

  it('grantStartExecution allows StartExecution on exactly this state machine', () => {
    // Prepare + Act
    const json = synthOrchestration(undefined, (stack, orchestration) => {
      orchestration.grantStartExecution(new ServiceRole(stack, 'caller', { servicePrincipal: 'lambda.amazonaws.com' }));
    });
    // Assess
    expect(roleNamed(json, 'test-caller').statements).toEqual([
      allow(['states:StartExecution'], [readable(json, 'aws_sfn_state_machine', 'state-machine', 'arn')]),
    ]);
  });

  describe('without notifications (artifacts and a Lambda route)', () => {
    const json = synthOrchestration(withEverything({ notifications: false }));
    const definition = definitionOf(json);
    const states = definition.States as Record<string, Json>;

    it('has no Notify or Alert state, and publishes nothing', () => {
      expect(Object.keys(states).filter((name) => (NOTIFICATION_STATES as string[]).includes(name))).toEqual([]);
      expect(Object.values(states).filter((s) => s.Type === 'Task' && !functionOf(s).startsWith('${aws_lambda_function.'))).toEqual([]);
      expect(onlyResource(json, 'aws_sfn_state_machine').definition).not.toContain('sns:publish');
      expect(Object.keys(resourcesOf(json, 'aws_lambda_function')).filter((id) => id.includes('notify'))).toEqual([]);
    });

    it('goes from every outcome straight to Finish, and reaches every state', () => {
      const outcomes = Object.entries(states).filter(([, s]) => s.ResultPath === '$.notification');
      expect(outcomes).toHaveLength(8);
      for (const [name, outcome] of outcomes) expect({ name, Next: outcome.Next }).toEqual({ name, Next: STATE.finish });
      expect([...reachableStates(definition)].sort()).toEqual(Object.keys(states).sort());
    });

    it('is valid ASL', () => {
      const result = validateAsl(withRealisticReferences(json, definition));
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('lets the state machine invoke no notify function and publish nothing', () => {
      const actions = roleNamed(json, 'test-orchestration-role').statements.flatMap((s) => s.actions);
      expect(actions).not.toContain('sns:Publish');
      expect(resourcesOf(json, 'aws_sns_topic')).toEqual({});
    });
  });

  describe('without artifacts (notifications and a Lambda route)', () => {
    const json = synthOrchestration(withEverything({ artifacts: false }));
    const states = definitionOf(json).States as Record<string, Json>;

    it('gives the route function no artifacts, and the Batch routes no bucket', () => {
      expect(Object.keys(states[runRouteStateName(LAMBDA_ROUTE)].Parameters)).toEqual(['runRequestID.$', 'processname.$', 'parameters.$']);
      for (const route of ['hello', 'slow']) expect(states[routeStateName(route)].Result).not.toHaveProperty('artifactsBucket');
    });

    it('grants no role anything in S3', () => {
      const s3 = rolesOf(json).flatMap((r) => r.statements.flatMap((s) => s.actions)).filter((a) => a.startsWith('s3:'));
      expect(s3).toEqual([]);
    });
  });

  it('gives a Lambda route 300 s by default', () => {
    const definition = definitionOf(synthOrchestration(() => ({ routes: { imported: { function: IMPORTED_FUNCTION } } })));
    expect(definition.States[runRouteStateName('imported')].TimeoutSeconds).toBe(300);
    expect(definition.States[routeStateName('imported')].Result.maxRunTimeSeconds).toBe(300);
  });

  it('with only a Lambda route, has no Batch state, reaches every state and is valid ASL', () => {
    // Prepare + Act
    const json = synthOrchestration(() => ({ routes: { imported: { function: IMPORTED_FUNCTION, maxRunTimeSeconds: 900 } } }));
    const definition = definitionOf(json);
    // Assess
    expect(definition.States[STATE.submit]).toBeUndefined();
    expect(definition.States[STATE.poll]).toBeUndefined();
    expect(definition.States[runRouteStateName('imported')]).toMatchObject({ Resource: IMPORTED_FUNCTION.functionArn, TimeoutSeconds: 900 });
    expect([...reachableStates(definition)].sort()).toEqual(Object.keys(definition.States).sort());
    const result = validateAsl(withRealisticReferences(json, definition));
    expect(result.errors).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('lets the state machine invoke an imported route function by its ARN, and grants a role-less function nothing', () => {
    const json = synthOrchestration(withEverything({ lambdaRoute: { function: IMPORTED_FUNCTION } }));
    const submitJob = readable(json, 'aws_lambda_function', 'submit-job_function', 'arn');
    const invoke = roleNamed(json, 'test-orchestration-role').statements.find((s) => s.resources.includes(submitJob));
    expect(invoke?.resources).toEqual(expect.arrayContaining([IMPORTED_FUNCTION.functionArn, `${IMPORTED_FUNCTION.functionArn}:*`]));
    expect(roleNamed(json, 'test-barcode-generate-barcode-role').statements.flatMap((s) => s.actions).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});

describe('Orchestration validation', () => {
  /** The custom route `slow` alone, with `changes`. */
  const withSlow = (changes: Partial<BatchRoute>): Options => (batch) => ({
    routes: { slow: { target: batch.jobTarget('slow'), ...SLOW, ...changes } },
  });
  /** A Lambda route `imported` alone, with `changes`. */
  const withLambda = (changes: Partial<LambdaRoute>): Options => () => ({
    routes: { imported: { function: IMPORTED_FUNCTION, ...changes } },
  });

  it('rejects no routes', () => {
    expect(buildOrchestration(() => ({ routes: {} }))).toThrow(/routes must name at least one route/);
  });

  it('rejects a route name with a space', () => {
    expect(buildOrchestration((batch) => ({ routes: { 'a b': { target: batch.jobTarget('hello') } } }))).toThrow(/route name 'a b' must match/);
  });

  it('rejects a defaultRoute that is not a route', () => {
    expect(buildOrchestration(() => ({ defaultRoute: 'nope' }))).toThrow(/defaultRoute 'nope' is not one of the routes \(hello, slow\)/);
  });

  it('rejects finishedRetentionDays 0', () => {
    expect(buildOrchestration(() => ({ finishedRetentionDays: 0 }))).toThrow(/finishedRetentionDays must be a whole number >= 1 \(got 0\)/);
  });

  it('rejects maxRunTimeSeconds 9 (under 10 s)', () => {
    expect(buildOrchestration(withSlow({ maxRunTimeSeconds: 9 }))).toThrow(/route 'slow': maxRunTimeSeconds must be .*\(got 9\)/);
  });

  it('rejects polling.initialSeconds above maxSeconds', () => {
    expect(buildOrchestration(withSlow({ polling: { initialSeconds: 300, maxSeconds: 120 } }))).toThrow(
      /route 'slow': polling\.initialSeconds must be 1\.\.maxSeconds \(got 300, maxSeconds 120\)/,
    );
  });

  it('rejects polling.multiplier 0.5', () => {
    expect(buildOrchestration(withSlow({ polling: { multiplier: 0.5 } }))).toThrow(
      /route 'slow': polling\.multiplier must be 1\.\.10 \(got 0\.5\)/,
    );
  });

  it('rejects polling.maxSeconds 4000', () => {
    expect(buildOrchestration(withSlow({ polling: { maxSeconds: 4000 } }))).toThrow(
      /route 'slow': polling\.maxSeconds must be at most 3600 \(got 4000\)/,
    );
  });

  it("rejects a Lambda route's maxRunTimeSeconds 901, past a Lambda's limit", () => {
    expect(buildOrchestration(withLambda({ maxRunTimeSeconds: 901 }))).toThrow(
      /route 'imported': a Lambda route's maxRunTimeSeconds must be 1\.\.900, a Lambda's limit \(got 901\)/,
    );
  });

  it("accepts a Lambda route's maxRunTimeSeconds 900", () => {
    expect(buildOrchestration(withLambda({ maxRunTimeSeconds: 900 }))).not.toThrow();
  });

  it('rejects log retention 8 days', () => {
    expect(buildOrchestration(() => ({ logRetentionDays: 8 }))).toThrow(/^Orchestration: logRetentionDays must be one of .*\(got 8\)/);
  });

  it('rejects a job target the Batch environment does not have', () => {
    expect(buildOrchestration((batch) => ({ routes: { nope: { target: batch.jobTarget('nope') } } }))).toThrow(
      /no job definition 'nope' \(have hello, slow\)/,
    );
  });
});

describe('Orchestration Lambdas and the Batch rate limit', () => {
  it("run their SDK clients in adaptive retry mode, so throttling slows them down instead of failing into the state machine's backoff", () => {
    const json = synthStack((stack) => {
      const table = new RunRequestsTable(stack, 'table');
      const batch = new BatchEnvironment(stack, 'batch', { subnetIds: ['subnet-0aaa'], securityGroupIds: ['sg-0bbb'], egress: 'nat', jobDefinitions: [{ name: 'hello', image: 'busybox' }] });
      new Orchestration(stack, 'orchestration', { table, routes: { hello: { target: batch.jobTarget('hello') } } });
    });

    for (const fn of Object.values(resourcesOf(json, 'aws_lambda_function'))) {
      expect(fn.environment.variables).toMatchObject({ AWS_RETRY_MODE: 'adaptive', AWS_MAX_ATTEMPTS: '8' });
    }
  });
});
