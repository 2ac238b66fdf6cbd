import { AssetType, TerraformAsset, TerraformStack, Testing } from 'cdktf';
import { DEFAULT_POLLING } from '../../lambdas/shared/polling';
import { TRANSIENT_ERROR_NAMES } from '../../lambdas/shared/aws-errors';
import { parseInput, routeSchema } from '../../lambdas/shared/orchestration-state';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { BatchEnvironment, JobDefinitionSpec } from '../../modules/batch-env';
import { Orchestration, OrchestrationProps, OrchestrationRoute, STATE, TASK_RETRY, routeStateName } from '../../modules/orchestration';
import { lambdaBundleDir } from '../../modules/shared/bundles';
import { ServiceRole } from '../../modules/shared/iam';
import { readableReference } from '../../scripts/lib/plan-summary';
import { Json, Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, rolesOf, synthStack } from '../helpers/synth';

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
/** The custom route's settings, as the props give them. */
const SLOW = {
  polling: { initialSeconds: 10, maxSeconds: 600 },
  maxRunTimeSeconds: 7200,
  parameters: { seconds: '300' },
  terminateOnTimeout: true,
};
const ACCOUNT_ID = '123456789012';

type Options = (batch: BatchEnvironment) => Partial<OrchestrationProps>;

/** Two routes: `hello` on defaults, `slow` with its own polling, run time, parameters and termination. */
const twoRoutes: Options = (batch) => ({
  routes: { hello: { target: batch.jobTarget('hello') }, slow: { target: batch.jobTarget('slow'), ...SLOW } },
});

/**
 * Synthesizes a run-requests table (`table`), a Batch environment (`batch`) with the two job
 * definitions, and an `Orchestration` (`orchestration`) with `twoRoutes` overridden by `options`;
 * `after` may add to the stack (e.g. a grantee).
 */
function synthOrchestration(options: Options = () => ({}), after?: (stack: TerraformStack, orchestration: Orchestration) => void): Synthesized {
  return synthStack((stack) => {
    const table = new RunRequestsTable(stack, 'table');
    const batch = new BatchEnvironment(stack, 'batch', { subnetIds: ['subnet-0aaa'], securityGroupIds: ['sg-0bbb'], jobDefinitions: JOBS });
    const orchestration = new Orchestration(stack, 'orchestration', { table, routes: {}, ...twoRoutes(batch), ...options(batch) });
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
 * The definition with each `${aws_lambda_function.X.arn}` replaced by the ARN that function would
 * have, so that asl-validator checks Resource as an ARN (it lets `${...}` through unchecked).
 */
function withLambdaArns(json: Synthesized, definition: Json): Json {
  const functions = resourcesOf(json, 'aws_lambda_function');
  const text = JSON.stringify(definition).replace(/\$\{aws_lambda_function\.([^.}]+)\.arn\}/g, (_, id: string) => {
    const name = functions[id]?.function_name as string | undefined;
    if (!name) throw new Error(`no aws_lambda_function.${id}`);
    return `arn:aws:lambda:eu-west-1:${ACCOUNT_ID}:function:${name}`;
  });
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

/** Names of the states reachable from StartAt. */
function reachableStates(definition: Json): Set<string> {
  const seen = new Set<string>();
  const todo: string[] = [definition.StartAt as string];
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

/** The job ARN pattern the Batch environment derives from its queue ARN, as the summaries print it. */
function jobArnPattern(json: Synthesized): string {
  return `replace(${readable(json, 'aws_batch_job_queue', 'queue', 'arn')}, "/job-queue/.*$/", "job/*")`;
}

/** The asset hash of a Lambda bundle, computed the way the function's asset computes it. */
function bundleHash(bundle: string): string {
  const stack = new TerraformStack(Testing.app(), 'hash');
  return new TerraformAsset(stack, 'code', { path: lambdaBundleDir(bundle), type: AssetType.ARCHIVE }).assetHash;
}

const FUNCTIONS = ['submit-job', 'poll-job', 'record-status'] as const;

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
      // Act
      const result = validateAsl(definition);
      // Assess
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('is valid ASL with realistic Lambda ARNs in place of the references', () => {
      // Prepare
      const concrete = withLambdaArns(json, definition);
      // Act
      const result = validateAsl(concrete);
      // Assess
      expect(JSON.stringify(concrete)).not.toContain('${aws_lambda_function.');
      expect(result.errors).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('invokes exactly the three functions, each Task by reference to its function', () => {
      expect(Object.fromEntries(tasks.map(([name, s]) => [name, s.Resource]))).toEqual({
        [STATE.recordRejection]: fnArn('record-status'),
        [STATE.submit]: fnArn('submit-job'),
        [STATE.poll]: fnArn('poll-job'),
        [STATE.recordFailure]: fnArn('record-status'),
      });
      expect(new Set(tasks.map(([, s]) => s.Resource))).toEqual(new Set(FUNCTIONS.map(fnArn)));
    });

    it('reaches every state from StartAt', () => {
      expect([...reachableStates(definition)].sort()).toEqual(Object.keys(states).sort());
    });

    it('starts with the validation Choice', () => {
      expect(definition.StartAt).toBe(STATE.validate);
      expect(states[STATE.validate].Type).toBe('Choice');
    });

    it('tests runRequestID, then processname, with IsPresent before IsString, and compares no strings', () => {
      // Prepare
      const guard = (path: string) => ({ Or: [{ Not: { Variable: path, IsPresent: true } }, { Not: { Variable: path, IsString: true } }] });
      const validate = states[STATE.validate];
      // Assess
      expect(validate.Choices).toEqual([
        { ...guard('$.runRequestID'), Next: STATE.invalidInput },
        { ...guard('$.processname'), Next: STATE.rejectMissing },
      ]);
      expect(validate.Default).toBe(STATE.chooseRoute);
      expect(JSON.stringify(validate)).not.toContain('StringEquals');
      expect(states[STATE.invalidInput].Type).toBe('Fail');
      expect(states[STATE.rejectMissing]).toMatchObject({ Type: 'Pass', ResultPath: '$.outcome', Next: STATE.recordRejection });
    });

    it('compares processname only in the route Choice, which only the validation Choice leads to', () => {
      // Prepare
      const comparing = Object.entries(states)
        .filter(([, s]) => /"StringEquals"/.test(JSON.stringify(s)) && JSON.stringify(s).includes('$.processname'))
        .map(([name]) => name);
      const leadingToRouteChoice = Object.entries(states)
        .filter(([, s]) => transitionsOf(s).includes(STATE.chooseRoute))
        .map(([name]) => name);
      // Assess
      expect(comparing).toEqual([STATE.chooseRoute]);
      expect(leadingToRouteChoice).toEqual([STATE.validate]);
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

    it('puts the default route into $.route: queue by reference, definition by name, default limits', () => {
      expect(states[routeStateName('hello')]).toEqual({
        Type: 'Pass',
        Result: {
          name: 'hello',
          jobQueue: refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
          jobDefinition: resourceNamed(json, 'aws_batch_job_definition', 'job-hello').name,
          parameters: {},
          maxRunTimeSeconds: 86400,
          terminateOnTimeout: false,
          polling: DEFAULT_POLLING,
        },
        ResultPath: '$.route',
        Next: STATE.submit,
      });
    });

    it('puts the custom route into $.route with its polling merged over the defaults', () => {
      expect(states[routeStateName('slow')].Result).toEqual({
        name: 'slow',
        jobQueue: refTo(json, 'aws_batch_job_queue', 'queue', 'arn'),
        jobDefinition: 'test-batch-slow',
        parameters: { seconds: '300' },
        maxRunTimeSeconds: 7200,
        terminateOnTimeout: true,
        polling: { initialSeconds: 10, multiplier: DEFAULT_POLLING.multiplier, maxSeconds: 600 },
      });
      expect(resourceNamed(json, 'aws_batch_job_definition', 'job-slow').name).toBe('test-batch-slow');
    });

    it('carries routes in the shape submit-job and poll-job accept', () => {
      for (const route of ['hello', 'slow']) {
        expect(() => parseInput(routeSchema, states[routeStateName(route)].Result, 'test')).not.toThrow();
      }
    });

    it('submits, then waits $.job.waitSeconds before each poll', () => {
      expect(states[STATE.submit]).toMatchObject({ ResultPath: '$.job', Next: STATE.wait });
      expect(states[STATE.wait]).toEqual({ Type: 'Wait', SecondsPath: '$.job.waitSeconds', Next: STATE.poll });
      expect(states[STATE.poll]).toMatchObject({ ResultPath: '$.job', Next: STATE.finished });
    });

    it('ends on SUCCEEDED, FAILED and TIMED_OUT and polls again otherwise', () => {
      expect(states[STATE.finished]).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.job.status', StringEquals: 'SUCCEEDED', Next: STATE.succeeded },
          { Variable: '$.job.status', StringEquals: 'FAILED', Next: STATE.jobFailed },
          { Variable: '$.job.status', StringEquals: 'TIMED_OUT', Next: STATE.timedOut },
        ],
        Default: STATE.wait,
      });
      expect(states[STATE.succeeded].Type).toBe('Succeed');
      expect(states[STATE.jobFailed].Type).toBe('Fail');
      expect(states[STATE.timedOut].Type).toBe('Fail');
    });

    it('has four Tasks, each retrying with full jitter as TASK_RETRY says', () => {
      expect(tasks.map(([name]) => name).sort()).toEqual([STATE.poll, STATE.recordFailure, STATE.recordRejection, STATE.submit].sort());
      for (const [, task] of tasks) {
        expect(task.Retry).toEqual(TASK_RETRY);
        expect((task.Retry as Json[]).every((r) => r.JitterStrategy === 'FULL')).toBe(true);
      }
    });

    it('retries the Lambda service errors and the transient errors the handlers raise', () => {
      for (const [, task] of tasks) {
        const retried = (task.Retry as Json[]).flatMap((r) => r.ErrorEquals as string[]);
        expect(retried).toEqual(
          expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException']),
        );
        expect(retried).toEqual(expect.arrayContaining(['ThrottledError', 'BatchServerError', 'AwsServiceError']));
        expect(retried).toEqual(expect.arrayContaining([...TRANSIENT_ERROR_NAMES]));
      }
    });

    it('catches every error of every Task but Record failure into Record failure, keeping it at $.error', () => {
      for (const [name, task] of tasks.filter(([n]) => n !== STATE.recordFailure)) {
        expect({ name, Catch: task.Catch }).toEqual({ name, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordFailure }] });
      }
    });

    it('lets Record failure catch its own errors into the Fail state, keeping $.error', () => {
      const recordFailure = states[STATE.recordFailure];
      expect(recordFailure.Catch).toHaveLength(1);
      expect(recordFailure.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: STATE.failed });
      expect(recordFailure.Catch[0].ResultPath).not.toBe('$.error');
      expect(recordFailure.Next).toBe(STATE.failed);
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

    it('gives every Task a timeout longer than its function timeout', () => {
      const bundleOf: Record<string, (typeof FUNCTIONS)[number]> = {
        [STATE.recordRejection]: 'record-status',
        [STATE.submit]: 'submit-job',
        [STATE.poll]: 'poll-job',
        [STATE.recordFailure]: 'record-status',
      };
      for (const [name, task] of tasks) {
        const fn = resourceNamed(json, 'aws_lambda_function', `${bundleOf[name]}_function`);
        expect(task.Resource).toBe(fnArn(bundleOf[name]));
        expect(task.TimeoutSeconds).toBeGreaterThan(fn.timeout as number);
      }
    });

    it('holds no literal account id, region or ARN', () => {
      const text = machine.definition as string;
      expect(text).not.toMatch(/\d{12}/);
      expect(text).not.toMatch(/\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d+\b/);
      expect(text).not.toMatch(/arn:aws/);
    });
  });

  describe('IAM', () => {
    it('lets the state machine invoke exactly the three functions and deliver logs, nothing more', () => {
      const fns = FUNCTIONS.map((f) => readable(json, 'aws_lambda_function', `${f}_function`, 'arn'));
      expect(roleNamed(json, 'test-orchestration-role').statements).toEqual([
        allow(['lambda:InvokeFunction'], fns.flatMap((f) => [f, `${f}:*`])),
        allow(
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
        ),
      ]);
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
          allow(['batch:TagResource'], [jobArnPattern(json)]),
          allow(['batch:ListJobs'], ['*']),
          allow(['batch:TerminateJob'], [jobArnPattern(json)]),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'submit-job_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('lets poll-job describe jobs, terminate jobs of the account and region, and update statuses', () => {
      expect(sorted(roleNamed(json, 'test-orchestration-poll-job-role').statements)).toEqual(
        sorted([
          allow(['batch:DescribeJobs'], ['*']),
          allow(['batch:TerminateJob'], [jobArnPattern(json)]),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'poll-job_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('lets record-status update statuses in the table and write its logs, nothing else', () => {
      expect(sorted(roleNamed(json, 'test-orchestration-record-status-role').statements)).toEqual(
        sorted([
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'record-status_logs', 'arn')}:*`]),
        ]),
      );
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

    it('runs three distinct bundles', () => {
      expect(new Set(FUNCTIONS.map(bundleHash)).size).toBe(3);
    });
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
    const result = validateAsl(withLambdaArns(json, definitionOf(json)));
    // Assess
    expect(result.errors).toBe('');
    expect(result.isValid).toBe(true);
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
});

describe('Orchestration validation', () => {
  /** The custom route `slow` alone, with `changes`. */
  const withSlow = (changes: Partial<OrchestrationRoute>): Options => (batch) => ({
    routes: { slow: { target: batch.jobTarget('slow'), ...SLOW, ...changes } },
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

  it('rejects maxRunTimeSeconds 30', () => {
    expect(buildOrchestration(withSlow({ maxRunTimeSeconds: 30 }))).toThrow(/route 'slow': maxRunTimeSeconds must be .*\(got 30\)/);
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

  it('rejects log retention 8 days', () => {
    expect(buildOrchestration(() => ({ logRetentionDays: 8 }))).toThrow(/^Orchestration: logRetentionDays must be one of .*\(got 8\)/);
  });

  it('rejects a job target the Batch environment does not have', () => {
    expect(buildOrchestration((batch) => ({ routes: { nope: { target: batch.jobTarget('nope') } } }))).toThrow(
      /no job definition 'nope' \(have hello, slow\)/,
    );
  });
});
