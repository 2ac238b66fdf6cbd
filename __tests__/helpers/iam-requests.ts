/**
 * The requests each principal of a synthesized stack makes, with the resource each targets.
 *
 * Derived from the code: each Lambda's SDK commands (every `new XxxCommand(` its handler can
 * reach, see sdk-commands.ts), aimed at the resource its environment or its state machine input
 * names. Derived from the configuration: the state machine's Tasks, the REST integrations' URIs,
 * the WebSocket routes, the stream mapping, the job definitions, the alarms' actions, the roles each
 * service assumes. Declared from AWS's documentation, because no configuration says which calls a
 * service makes on its own: what the Lambda runtime, the event source mapping, Step Functions' log
 * delivery and X-Ray, ECS (awslogs, image pulls) and API Gateway's account logging call with a role.
 */
import { JOB_QUEUE_TAG, ENV, FUNCTION_NAMES } from '../../contract';
import { IamModel, TerraformValues } from './iam-policies';
import { commandsReachableFrom, ReachableCommand } from './sdk-commands';
import { bundleHash, Json } from './synth';

export interface IamRequest {
  /** A role's name (its session makes the request), or a service principal such as `cloudwatch.amazonaws.com`. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** `Denied` for the requests the policies exist to refuse (a job of another queue, plain HTTP...). */
  readonly expect: 'Allowed' | 'Denied';
  /** Where the request comes from: `lambdas/x/core.ts:12 new XCommand`, a Task, an integration... */
  readonly source: string;
}

export const EXAMPLE_RUN_REQUEST_ID = 'c6af9ac6-0d1e-4f5a-9b2c-3d4e5f607182';
const EXAMPLE_JOB_ID = '8f1e2d3c-4b5a-4697-8877-665544332211';
const EXAMPLE_CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
const OTHER_ACCOUNT = '444455556666';

/** The SDK client packages the handlers use, by IAM service prefix. */
const SERVICE_OF_CLIENT: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-batch': 'batch',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-apigatewaymanagementapi': 'execute-api',
};

/** Commands whose IAM action is not named after them (Service Authorization Reference). */
const ACTION_OF_COMMAND: Record<string, string> = {
  'execute-api:PostToConnection': 'execute-api:ManageConnections',
  'execute-api:GetConnection': 'execute-api:ManageConnections',
  'execute-api:DeleteConnection': 'execute-api:ManageConnections',
};

/**
 * The table each module of lambdas/shared owns (one owner per table), by the environment variable
 * that names it. A DynamoDB command anywhere else has no known table and fails the derivation.
 */
const TABLE_OWNERS: Record<string, string> = {
  'lambdas/shared/run-requests-table.ts': ENV.tableName,
  'lambdas/shared/connections-table.ts': ENV.connectionsTable,
};

/** The tags submit-job gives a job, with example values; the queue tag carries the route's queue. */
function jobTags(keys: string[], route: BatchRouteInput): Record<string, string> {
  const values: Record<string, string> = { runRequestID: EXAMPLE_RUN_REQUEST_ID, route: route.name, [JOB_QUEUE_TAG]: route.jobQueue };
  const unknown = keys.filter((k) => !(k in values));
  if (unknown.length > 0) throw new Error(`SubmitJob sets tags the simulation has no example value for: ${unknown.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, values[k]]));
}

/** Step Functions' log delivery to CloudWatch Logs, on the state machine's role (Step Functions developer guide, "IAM policies for logging"); these APIs take only `*`. */
const STATE_MACHINE_LOG_DELIVERY = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];
const STATE_MACHINE_XRAY = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];
const LAMBDA_XRAY = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

interface BatchRouteInput {
  readonly name: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  readonly artifactsBucket?: string;
}

interface StateMachine {
  readonly id: string;
  readonly arn: string;
  readonly roleName: string;
  readonly states: [string, Json][];
  readonly batchRoutes: BatchRouteInput[];
}

interface LambdaFunctionInfo {
  readonly id: string;
  readonly arn: string;
  readonly roleName: string;
  readonly bundle: string;
  readonly environment: Record<string, string>;
}

/** Collects requests, one per principal, action, resource, context and expectation (sources merged). */
class Requests {
  private readonly byKey = new Map<string, IamRequest>();

  public add(request: Omit<IamRequest, 'expect'> & { expect?: IamRequest['expect'] }): void {
    const r: IamRequest = { ...request, expect: request.expect ?? 'Allowed' };
    const key = JSON.stringify([r.principal, r.action, r.resource, r.context ?? {}, r.expect]);
    const known = this.byKey.get(key);
    this.byKey.set(key, known ? { ...known, source: known.source.includes(r.source) ? known.source : `${known.source}; ${r.source}` } : r);
  }

  public assume(service: string, roleName: string, roleArn: string, source: string, context?: Record<string, string>, expect?: IamRequest['expect']): void {
    this.add({ principal: service, action: 'sts:AssumeRole', resource: roleArn, source: `${source} (role ${roleName})`, context, expect });
  }

  public all(): IamRequest[] {
    return [...this.byKey.values()];
  }
}

/** Every request of the stack's principals. */
export function deriveRequests(model: IamModel): IamRequest[] {
  const v = model.values;
  const requests = new Requests();
  const machines = stateMachinesOf(v);
  const functions = functionsOf(v);

  for (const fn of functions) functionRequests(v, fn, machines, requests);
  for (const machine of machines) stateMachineRequests(v, machine, requests);
  streamMappingRequests(v, functions, requests);
  asyncInvocationRequests(v, functions, requests);
  restApiRequests(v, requests);
  websocketRequests(v, requests);
  eventRuleRequests(v, requests);
  jobDefinitionRequests(v, machines, requests);
  alarmRequests(v, requests);
  accountLoggingRequests(v, requests);

  const names = new Set(model.roles.map((r) => r.name));
  const unknown = requests.all().filter((r) => !r.principal.endsWith('.amazonaws.com') && !names.has(r.principal));
  if (unknown.length > 0) throw new Error(`requests by roles outside the stack: ${unknown.map((r) => r.principal).join(', ')}`);
  return requests.all();
}

const resourcesOf = (v: TerraformValues, type: string) => Object.entries(v.json.resource[type] ?? {});

function roleNameOf(v: TerraformValues, roleArnRef: unknown): string {
  const t = v.target(roleArnRef);
  if (t?.type !== 'aws_iam_role') throw new Error(`expected a role of the stack, got ${String(roleArnRef)}`);
  return v.attribute('aws_iam_role', t.id, 'name');
}

function roleArnOf(v: TerraformValues, roleName: string): string {
  return `arn:${v.partition}:iam::${v.account}:role/${roleName}`;
}

function tableArnNamed(v: TerraformValues, name: string): string {
  const found = resourcesOf(v, 'aws_dynamodb_table').find(([id]) => v.attribute('aws_dynamodb_table', id, 'name') === name);
  if (!found) throw new Error(`no table named ${name} in the stack`);
  return v.attribute('aws_dynamodb_table', found[0], 'arn');
}

/** Which bundle each function deploys: the one whose asset hash it carries. */
function functionsOf(v: TerraformValues): LambdaFunctionInfo[] {
  const hashes = new Map(FUNCTION_NAMES.map((name) => [bundleHash(name), name]));
  return resourcesOf(v, 'aws_lambda_function').map(([id, f]) => {
    const bundle = hashes.get(f.source_code_hash);
    if (!bundle) throw new Error(`aws_lambda_function.${id} deploys no bundle of lambdas/ (source_code_hash ${f.source_code_hash})`);
    return {
      id,
      arn: v.attribute('aws_lambda_function', id, 'arn'),
      roleName: roleNameOf(v, f.role),
      bundle,
      environment: v.resolveDeep((f.environment?.variables ?? {}) as Record<string, string>),
    };
  });
}

function stateMachinesOf(v: TerraformValues): StateMachine[] {
  return resourcesOf(v, 'aws_sfn_state_machine').map(([id, m]) => {
    const definition = JSON.parse(v.resolve(m.definition)) as Json;
    const states: [string, Json][] = [];
    const walk = (s: Record<string, Json>) => {
      for (const [name, state] of Object.entries(s)) {
        states.push([name, state]);
        for (const branch of state.Branches ?? []) walk(branch.States);
        if (state.Iterator) walk(state.Iterator.States);
        if (state.ItemProcessor) walk(state.ItemProcessor.States);
      }
    };
    walk(definition.States);
    // A Batch route is a Pass state whose result is the route (contract/orchestration.ts RouteState).
    const batchRoutes = states.filter(([, s]) => s.Type === 'Pass' && s.Result?.type === 'batch').map(([, s]) => s.Result as BatchRouteInput);
    return { id, arn: v.attribute('aws_sfn_state_machine', id, 'arn'), roleName: roleNameOf(v, m.role_arn), states, batchRoutes };
  });
}

/** The function a Task invokes, or undefined when it is not a Lambda Task. */
function invokedFunction(state: Json): string | undefined {
  if (typeof state.Resource !== 'string') return undefined;
  if (state.Resource.startsWith('arn:aws:lambda:')) return state.Resource;
  if (/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/.test(state.Resource)) return (state.Parameters ?? state.Arguments)?.FunctionName;
  return undefined;
}

/** The Lambda runtime's own calls with the function's role, and every SDK command its code can reach. */
function functionRequests(v: TerraformValues, fn: LambdaFunctionInfo, machines: StateMachine[], requests: Requests): void {
  const f = v.resource('aws_lambda_function', fn.id);
  requests.assume('lambda.amazonaws.com', fn.roleName, roleArnOf(v, fn.roleName), `aws_lambda_function.${fn.id}.role`);
  const logGroup = v.resolve(f.logging_config?.log_group ?? `/aws/lambda/${v.resolve(f.function_name)}`);
  for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
    requests.add({ principal: fn.roleName, action, resource: v.arn('logs', `log-group:${logGroup}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`), source: `Lambda runtime: logs of ${fn.bundle}` });
  }
  if (f.tracing_config?.mode === 'Active') {
    for (const action of LAMBDA_XRAY) requests.add({ principal: fn.roleName, action, resource: '*', source: `Lambda runtime: X-Ray traces of ${fn.bundle}` });
  }

  const invokers = machines.filter((m) => m.states.some(([, s]) => invokedFunction(s) === fn.arn));
  for (const cmd of commandsReachableFrom(`lambdas/${fn.bundle}/handler.ts`)) {
    const service = SERVICE_OF_CLIENT[cmd.client];
    if (!service) throw new Error(`${cmd.file}:${cmd.line}: the simulation does not map ${cmd.client} to an IAM service`);
    const commandAction = `${service}:${cmd.command.replace(/Command$/, '')}`;
    const action = ACTION_OF_COMMAND[commandAction] ?? commandAction;
    const source = `${cmd.file}:${cmd.line} new ${cmd.command}`;
    for (const target of targetsOf(v, service, action, cmd, fn, invokers)) {
      requests.add({ principal: fn.roleName, source, ...target, action: target.action ?? action });
    }
  }
}

/** A resource a command targets; `action` when the command needs a second action (tagging on creation). */
type Target = Pick<IamRequest, 'resource' | 'context'> & { expect?: IamRequest['expect']; action?: string };

/** The resources a command is aimed at: named by the function's environment, or by its state machine input. */
function targetsOf(v: TerraformValues, service: string, action: string, cmd: ReachableCommand, fn: LambdaFunctionInfo, invokers: StateMachine[]): Target[] {
  const where = `${fn.bundle} (${cmd.file}:${cmd.line})`;
  const env = (name: string) => {
    const value = fn.environment[name];
    if (value === undefined) throw new Error(`${where}: sends ${cmd.command} but its function has no ${name}`);
    return value;
  };
  const batchRoutes = invokers.flatMap((m) => m.batchRoutes);
  switch (service) {
    case 'dynamodb': {
      const variable = TABLE_OWNERS[cmd.file];
      if (!variable) throw new Error(`${where}: a DynamoDB command outside the module that owns its table`);
      const table = tableArnNamed(v, env(variable));
      const index = cmd.input.IndexName;
      return [{ resource: typeof index === 'string' ? `${table}/index/${index}` : table }];
    }
    case 'states':
      if (action === 'states:StartExecution') return [{ resource: env(ENV.stateMachineArn) }];
      // SendTaskSuccess has no resource type (the token names the task): authorized on "*".
      if (action === 'states:SendTaskSuccess') return [{ resource: '*' }];
      break;
    case 'execute-api': {
      // WEBSOCKET_ENDPOINT is https://<api id>.execute-api.<region>.amazonaws.com/<stage>.
      const m = /^https:\/\/([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com\/([A-Za-z0-9_-]+)$/.exec(env(ENV.websocketEndpoint));
      if (!m) throw new Error(`${where}: ${ENV.websocketEndpoint} is not a WebSocket stage endpoint`);
      return [{ resource: v.arn('execute-api', `${m[1]}/${m[3]}/POST/@connections/${EXAMPLE_CONNECTION_ID}`, m[2]) }];
    }
    case 's3': {
      // A Lambda route gets its bucket in its Task input (contract: `artifacts.bucket`); the SDK and its presigned links use HTTPS.
      const buckets = invokers.flatMap((m) => m.states.filter(([, s]) => invokedFunction(s) === fn.arn).map(([, s]) => (s.Parameters ?? s.Arguments)?.artifacts?.bucket as string | undefined));
      const known = [...new Set(buckets.filter((b): b is string => b !== undefined))];
      if (known.length === 0) throw new Error(`${where}: no Task gives this function a bucket`);
      return known.flatMap((bucket) => [
        { resource: `arn:${v.partition}:s3:::${bucket}/${EXAMPLE_RUN_REQUEST_ID}/result`, context: { 'aws:SecureTransport': 'true' } },
        // S3 calls KMS as the caller: a single PutObject generates a data key, a GetObject (a presigned link's) decrypts it.
        ...bucketKeyTargets(v, bucket, action === 's3:PutObject' ? ['kms:GenerateDataKey'] : action === 's3:GetObject' ? ['kms:Decrypt'] : []),
      ]);
    }
    case 'batch':
      if (batchRoutes.length === 0) throw new Error(`${where}: sends ${cmd.command}, but no state machine invoking it has a Batch route`);
      return batchTargets(v, action, cmd, batchRoutes);
  }
  throw new Error(`${where}: the simulation does not know what ${action} targets`);
}

/** The revision ARN a job definition name resolves to: the latest active revision (1 for one the stack creates). */
function jobDefinitionRevisionArn(v: TerraformValues, route: BatchRouteInput): string {
  if (route.jobDefinition.startsWith('arn:')) return /:\d+$/.test(route.jobDefinition) ? route.jobDefinition : `${route.jobDefinition}:1`;
  const own = resourcesOf(v, 'aws_batch_job_definition').find(([id]) => v.attribute('aws_batch_job_definition', id, 'name') === route.jobDefinition);
  if (own) return v.attribute('aws_batch_job_definition', own[0], 'arn');
  // Registered elsewhere, in the queue's account and region, at whatever revision is latest.
  return `${route.jobQueue.replace(/:job-queue\/.*$/, ':job-definition/')}${route.jobDefinition}:7`;
}

function batchTargets(v: TerraformValues, action: string, cmd: ReachableCommand, routes: BatchRouteInput[]): Target[] {
  // The new job, in the queue's account and region.
  const jobArn = (route: BatchRouteInput) => route.jobQueue.replace(/:job-queue\/.*$/, `:job/${EXAMPLE_JOB_ID}`);
  const tagKeys = (cmd.input.tags as string[] | undefined) ?? [];
  const requestTags = (route: BatchRouteInput): Record<string, string | string[]> => {
    const tags = jobTags(tagKeys, route);
    return tagKeys.length === 0 ? {} : { ...Object.fromEntries(Object.entries(tags).map(([k, value]) => [`aws:RequestTag/${k}`, value])), 'aws:TagKeys': tagKeys };
  };
  // TagResource on a job someone else submitted, to bring it into a scope the tags grant (the role's
  // own TerminateJob, another queue's): refused unless the request is shaped as submit-job's own.
  const foreignJob = (route: BatchRouteInput) => route.jobQueue.replace(/:job-queue\/.*$/, ':job/0a1b2c3d-someone-elses-job');
  const foreignTagging = (route: BatchRouteInput): Target[] => {
    const tags = requestTags(route);
    const otherQueue = route.jobQueue.replace(/job-queue\/.*$/, 'job-queue/someone-elses-queue');
    return [
      { action: 'batch:TagResource', resource: foreignJob(route), context: { ...tags, [`aws:RequestTag/${JOB_QUEUE_TAG}`]: otherQueue }, expect: 'Denied' },
      { action: 'batch:TagResource', resource: foreignJob(route), context: { [`aws:RequestTag/${JOB_QUEUE_TAG}`]: route.jobQueue, 'aws:TagKeys': [JOB_QUEUE_TAG] }, expect: 'Denied' },
      { action: 'batch:TagResource', resource: foreignJob(route), context: { ...tags, 'aws:RequestTag/owner': 'me', 'aws:TagKeys': [...tagKeys, 'owner'] }, expect: 'Denied' },
      { action: 'batch:TagResource', resource: foreignJob(route), context: { 'aws:RequestTag/owner': 'me', 'aws:TagKeys': ['owner'] }, expect: 'Denied' },
    ];
  };
  switch (action) {
    case 'batch:ListJobs':
    case 'batch:DescribeJobs':
      return [{ resource: '*' }];
    case 'batch:SubmitJob':
      // Authorized on the queue and on the job definition revision the name resolves to (AWS Batch
      // user guide: a grant on the bare name matches nothing, the request ARN carries the revision).
      // Tags given to SubmitJob are authorized as batch:TagResource on the new job (AWS Batch user guide, "Tag your resources").
      return routes.flatMap((route) => [
        { resource: route.jobQueue, context: requestTags(route) },
        { resource: jobDefinitionRevisionArn(v, route), context: requestTags(route) },
        ...(tagKeys.length > 0 ? [{ action: 'batch:TagResource', resource: jobArn(route), context: requestTags(route) }, ...foreignTagging(route)] : []),
      ]);
    case 'batch:TerminateJob': {
      // Jobs carry the tags they were submitted with; only the gateway's (its queue's tag) may be terminated.
      const queueTag = `aws:ResourceTag/${JOB_QUEUE_TAG}`;
      return routes.flatMap((route): Target[] => [
        { resource: jobArn(route), context: { [queueTag]: route.jobQueue } },
        { resource: jobArn(route), context: {}, expect: 'Denied' },
        { resource: jobArn(route), context: { [queueTag]: route.jobQueue.replace(/job-queue\/.*$/, 'job-queue/someone-elses-queue') }, expect: 'Denied' },
      ]);
    }
  }
  throw new Error(`${cmd.file}:${cmd.line}: the simulation does not know what ${action} targets`);
}

/** The state machine's role: each Task, its log delivery and tracing. */
function stateMachineRequests(v: TerraformValues, machine: StateMachine, requests: Requests): void {
  const m = v.resource('aws_sfn_state_machine', machine.id);
  // Step Functions assumes the role on behalf of the machine (aws:SourceArn, aws:SourceAccount);
  // another machine, of this account or another, is refused (confused deputy).
  const roleSource = `aws_sfn_state_machine.${machine.id}.role_arn`;
  const account = machine.arn.split(':')[4];
  const onBehalfOf = (arn: string) => ({ 'aws:SourceArn': arn, 'aws:SourceAccount': arn.split(':')[4] });
  requests.assume('states.amazonaws.com', machine.roleName, roleArnOf(v, machine.roleName), roleSource, onBehalfOf(machine.arn));
  const otherMachine = machine.arn.replace(/stateMachine:.*$/, 'stateMachine:someone-elses-machine');
  requests.assume('states.amazonaws.com', machine.roleName, roleArnOf(v, machine.roleName), `${roleSource}, for another machine`, onBehalfOf(otherMachine), 'Denied');
  requests.assume('states.amazonaws.com', machine.roleName, roleArnOf(v, machine.roleName), `${roleSource}, for a machine of another account`, onBehalfOf(machine.arn.replace(`:${account}:`, `:${OTHER_ACCOUNT}:`)), 'Denied');
  for (const [name, state] of machine.states) {
    if (state.Type !== 'Task') continue;
    const source = `Task "${name}"`;
    const fn = invokedFunction(state);
    if (fn) {
      requests.add({ principal: machine.roleName, action: 'lambda:InvokeFunction', resource: fn, source });
    } else if (state.Resource === 'arn:aws:states:::sns:publish') {
      const topicArn = (state.Parameters ?? state.Arguments).TopicArn as string;
      requests.add({ principal: machine.roleName, action: 'sns:Publish', resource: topicArn, source });
      // SNS encrypts the message with the topic's key, using the publisher's permissions.
      const viaSns = { 'kms:ViaService': `sns.${v.region}.amazonaws.com`, 'kms:CallerAccount': v.account };
      for (const target of topicKeyRequests(v, topicArn, viaSns)) requests.add({ principal: machine.roleName, source: `${source} (topic encryption)`, ...target });
    } else {
      throw new Error(`Task "${name}": the simulation does not know what ${String(state.Resource)} requests`);
    }
  }
  const logging = v.resolveDeep(m.logging_configuration ?? {}) as Json;
  if (logging.level && logging.level !== 'OFF') {
    for (const action of STATE_MACHINE_LOG_DELIVERY) requests.add({ principal: machine.roleName, action, resource: '*', source: 'Step Functions log delivery' });
  }
  if (m.tracing_configuration?.enabled) {
    for (const action of STATE_MACHINE_XRAY) requests.add({ principal: machine.roleName, action, resource: '*', source: 'Step Functions X-Ray tracing' });
  }
}

/** kms:GenerateDataKey and kms:Decrypt on a topic's key, which SNS needs of a publisher (SNS developer guide, encryption at rest); none for an unencrypted topic. */
function topicKeyRequests(v: TerraformValues, topicArn: string, context: Record<string, string>): (Target & { action: string })[] {
  const topic = resourcesOf(v, 'aws_sns_topic').find(([id]) => v.attribute('aws_sns_topic', id, 'arn') === topicArn);
  if (!topic) throw new Error(`no topic ${topicArn} in the stack`);
  if (!topic[1].kms_master_key_id) return [];
  const key = v.kmsKeyArn(topic[1].kms_master_key_id);
  return ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({ action, resource: key, context }));
}

/** What an event source mapping does with its function's role (Lambda developer guide, DynamoDB event sources). */
function streamMappingRequests(v: TerraformValues, functions: LambdaFunctionInfo[], requests: Requests): void {
  for (const [id, mapping] of resourcesOf(v, 'aws_lambda_event_source_mapping')) {
    const source = `aws_lambda_event_source_mapping.${id}`;
    const functionArn = v.resolve(mapping.function_name);
    const fn = functions.find((f) => f.arn === functionArn || v.attribute('aws_lambda_function', f.id, 'function_name') === functionArn);
    if (!fn) throw new Error(`${source}: no function ${functionArn} in the stack`);
    const streamArn = v.resolve(mapping.event_source_arn);
    if (!/^arn:aws:dynamodb:.*:table\/.+\/stream\/.+$/.test(streamArn)) throw new Error(`${source}: only DynamoDB stream sources are modelled (got ${streamArn})`);
    for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
      requests.add({ principal: fn.roleName, action, resource: streamArn, source: `${source} (reads the stream)` });
    }
    requests.add({ principal: fn.roleName, action: 'dynamodb:ListStreams', resource: '*', source: `${source} (reads the stream)` });
    const destination = mapping.destination_config?.on_failure?.destination_arn;
    if (destination) {
      const arn = v.resolve(destination);
      if (arn.startsWith('arn:aws:sqs:')) {
        requests.add({ principal: fn.roleName, action: 'sqs:SendMessage', resource: arn, context: { 'aws:SecureTransport': 'true' }, source: `${source} (on-failure destination)` });
        requests.add({ principal: fn.roleName, action: 'sqs:SendMessage', resource: arn, context: { 'aws:SecureTransport': 'false' }, expect: 'Denied', source: `${source} (on-failure destination over plain HTTP)` });
      } else {
        throw new Error(`${source}: only SQS on-failure destinations are modelled (got ${arn})`);
      }
    }
  }
}

/** A queue of the stack as a destination: sent to over TLS, and refused over plain HTTP. */
function queueDestinationRequests(principal: string, arn: string, context: Record<string, string>, source: string, requests: Requests): void {
  if (!arn.startsWith('arn:aws:sqs:')) throw new Error(`${source}: only SQS destinations are modelled (got ${arn})`);
  requests.add({ principal, action: 'sqs:SendMessage', resource: arn, context: { ...context, 'aws:SecureTransport': 'true' }, source });
  requests.add({ principal, action: 'sqs:SendMessage', resource: arn, context: { ...context, 'aws:SecureTransport': 'false' }, expect: 'Denied', source: `${source} over plain HTTP` });
}

/**
 * Lambda sending an asynchronous event that failed every retry to its on-failure destination,
 * with the function's role (Lambda developer guide, "Retaining records of asynchronous invocations").
 */
function asyncInvocationRequests(v: TerraformValues, functions: LambdaFunctionInfo[], requests: Requests): void {
  for (const [id, config] of resourcesOf(v, 'aws_lambda_function_event_invoke_config')) {
    const source = `aws_lambda_function_event_invoke_config.${id}`;
    const name = v.resolve(config.function_name);
    const fn = functions.find((f) => f.arn === name || v.attribute('aws_lambda_function', f.id, 'function_name') === name);
    if (!fn) throw new Error(`${source}: no function ${name} in the stack`);
    const destination = config.destination_config?.on_failure?.destination;
    if (destination) queueDestinationRequests(fn.roleName, v.resolve(destination), {}, `${source} (on-failure destination)`, requests);
    if (config.destination_config?.on_success) throw new Error(`${source}: on-success destinations are not modelled`);
  }
}

/** The REST API's AWS integrations: the action in each URI, with the integration's role, on the table its template names. */
function restApiRequests(v: TerraformValues, requests: Requests): void {
  for (const [id, integration] of resourcesOf(v, 'aws_api_gateway_integration')) {
    const source = `aws_api_gateway_integration.${id}`;
    if (integration.type !== 'AWS') throw new Error(`${source}: only AWS service integrations are modelled (got ${integration.type})`);
    const m = /^arn:aws:apigateway:[a-z0-9-]+:([a-z0-9-]+):action\/([A-Za-z]+)$/.exec(v.resolve(integration.uri));
    if (!m) throw new Error(`${source}: cannot read the integration URI ${v.resolve(integration.uri)}`);
    const [, service, action] = m;
    const roleName = roleNameOf(v, integration.credentials);
    requests.assume('apigateway.amazonaws.com', roleName, roleArnOf(v, roleName), `${source}.credentials`);
    if (service !== 'dynamodb') throw new Error(`${source}: only DynamoDB integrations are modelled (got ${service})`);
    const templates = Object.values((integration.request_templates ?? {}) as Record<string, string>).map((t) => v.resolve(t));
    const tables = [...new Set(templates.flatMap((t) => [...t.matchAll(/"TableName"\s*:\s*"([^"$]+)"/g)].map((x) => x[1])))];
    if (tables.length !== 1) throw new Error(`${source}: expected one TableName in the request templates, found ${tables.join(', ') || 'none'}`);
    // TransactWriteItems is no IAM action: IAM authorizes each of its operations the templates write.
    const actions =
      action === 'TransactWriteItems'
        ? [...new Set(templates.flatMap((t) => [...t.matchAll(/\{"(Put|Update|Delete|ConditionCheck)":/g)].map((x) => TRANSACTION_OPERATION_ACTIONS[x[1]])))]
        : [action];
    if (actions.length === 0) throw new Error(`${source}: a TransactWriteItems template with no operation`);
    for (const a of actions) {
      requests.add({ principal: roleName, action: `dynamodb:${a}`, resource: tableArnNamed(v, tables[0]), source: `${source} (${service}:action/${action})` });
    }
  }
}

/** The IAM action that authorizes each kind of TransactWriteItems operation. */
const TRANSACTION_OPERATION_ACTIONS: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };

/** API Gateway invoking the WebSocket routes' functions, through their function policies. */
function websocketRequests(v: TerraformValues, requests: Requests): void {
  for (const [id, route] of resourcesOf(v, 'aws_apigatewayv2_route')) {
    const integrationId = /^integrations\/\$\{aws_apigatewayv2_integration\.([A-Za-z0-9_-]+)\.id\}$/.exec(route.target ?? '')?.[1];
    if (!integrationId) throw new Error(`aws_apigatewayv2_route.${id}: target ${route.target} is not an integration of the stack`);
    const integration = v.resource('aws_apigatewayv2_integration', integrationId);
    // API Gateway answers a MOCK route itself (the keepalive): no principal, no AWS request.
    if (integration.integration_type === 'MOCK') continue;
    if (integration.integration_type !== 'AWS_PROXY' || integration.credentials_arn) throw new Error(`aws_apigatewayv2_integration.${integrationId}: only Lambda proxy integrations without credentials are modelled`);
    const functionArn = /functions\/(arn:[^/]+)\/invocations$/.exec(v.resolve(integration.integration_uri))?.[1];
    if (!functionArn) throw new Error(`aws_apigatewayv2_integration.${integrationId}: not a Lambda integration`);
    const apiId = v.target(route.api_id)!.id;
    const executionArn = v.attribute('aws_apigatewayv2_api', apiId, 'execution_arn');
    const routeKey = v.resolve(route.route_key);
    const stages = resourcesOf(v, 'aws_apigatewayv2_stage').filter(([, s]) => v.target(s.api_id)?.id === apiId);
    for (const [, stage] of stages) {
      const source = `aws_apigatewayv2_route.${id} (${routeKey})`;
      requests.add({ principal: 'apigateway.amazonaws.com', action: 'lambda:InvokeFunction', resource: functionArn, context: { 'aws:SourceArn': `${executionArn}/${v.resolve(stage.name)}/${routeKey}`, 'aws:SourceAccount': v.account }, source });
      // Another API of the same account must not invoke it (the confused deputy).
      requests.add({ principal: 'apigateway.amazonaws.com', action: 'lambda:InvokeFunction', resource: functionArn, context: { 'aws:SourceArn': `${v.arn('execute-api', 'otherapi01')}/${v.resolve(stage.name)}/${routeKey}`, 'aws:SourceAccount': v.account }, expect: 'Denied', source: `${source} from another API` });
    }
  }
}

/** EventBridge delivering each rule's events to its Lambda targets, through their function policies. */
function eventRuleRequests(v: TerraformValues, requests: Requests): void {
  for (const [id, target] of resourcesOf(v, 'aws_cloudwatch_event_target')) {
    const fn = v.target(target.arn);
    const rule = v.target(target.rule);
    if (fn?.type !== 'aws_lambda_function' || rule?.type !== 'aws_cloudwatch_event_rule') throw new Error(`aws_cloudwatch_event_target.${id}: only a rule of the stack delivering to a function of the stack is modelled`);
    const functionArn = v.attribute('aws_lambda_function', fn.id, 'arn');
    const ruleArn = v.attribute('aws_cloudwatch_event_rule', rule.id, 'arn');
    const source = `aws_cloudwatch_event_target.${id}`;
    requests.add({ principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', resource: functionArn, context: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': v.account }, source });
    // Another rule of the account must not invoke it.
    requests.add({ principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', resource: functionArn, context: { 'aws:SourceArn': v.arn('events', 'rule/someone-elses-rule'), 'aws:SourceAccount': v.account }, expect: 'Denied', source: `${source} from another rule` });
    // An event EventBridge could not deliver goes to the target's dead-letter queue, sent by EventBridge itself (EventBridge user guide, "Using dead-letter queues").
    const deadLetters = target.dead_letter_config?.arn;
    if (deadLetters) {
      const queueArn = v.resolve(deadLetters);
      queueDestinationRequests('events.amazonaws.com', queueArn, { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': v.account }, `${source} (dead-letter queue)`, requests);
      requests.add({ principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: queueArn, context: { 'aws:SourceArn': v.arn('events', 'rule/someone-elses-rule'), 'aws:SourceAccount': v.account, 'aws:SecureTransport': 'true' }, expect: 'Denied', source: `${source} (dead-letter queue) from another rule` });
    }
  }
}

/**
 * The KMS requests S3 makes as the caller on a bucket of the stack encrypted with a customer-managed
 * key (S3 user guide, "Using SSE-KMS"): none for SSE-S3.
 */
function bucketKeyTargets(v: TerraformValues, bucketName: string, actions: string[]): Target[] {
  const bucket = resourcesOf(v, 'aws_s3_bucket').find(([id]) => v.attribute('aws_s3_bucket', id, 'bucket') === bucketName);
  if (!bucket) return [];
  const encryption = resourcesOf(v, 'aws_s3_bucket_server_side_encryption_configuration').find(([, e]) => v.target(e.bucket)?.id === bucket[0]);
  const first = (x: unknown) => (Array.isArray(x) ? x[0] : x) as Json | undefined;
  const byDefault = first(first(encryption?.[1].rule)?.apply_server_side_encryption_by_default);
  if (byDefault?.sse_algorithm !== 'aws:kms' || !byDefault.kms_master_key_id) return [];
  const context = { 'kms:ViaService': `s3.${v.region}.amazonaws.com`, 'kms:CallerAccount': v.account };
  return actions.map((action) => ({ action, resource: v.kmsKeyArn(byDefault.kms_master_key_id), context }));
}

/** ECS with each job definition's execution role (awslogs, private ECR images) and the job's own role (its artifacts). */
function jobDefinitionRequests(v: TerraformValues, machines: StateMachine[], requests: Requests): void {
  for (const [id, definition] of resourcesOf(v, 'aws_batch_job_definition')) {
    const source = `aws_batch_job_definition.${id}`;
    const container = JSON.parse(definition.container_properties) as Json;
    const name = v.attribute('aws_batch_job_definition', id, 'name');
    if (container.executionRoleArn) {
      const role = roleNameOf(v, container.executionRoleArn);
      requests.assume('ecs-tasks.amazonaws.com', role, roleArnOf(v, role), `${source} executionRoleArn`);
      const log = container.logConfiguration;
      if (log?.logDriver === 'awslogs') {
        const options = v.resolveDeep(log.options) as Record<string, string>;
        const stream = `${options['awslogs-stream-prefix']}/default/0123456789abcdef0123456789abcdef`;
        for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
          requests.add({ principal: role, action, resource: v.arn('logs', `log-group:${options['awslogs-group']}:log-stream:${stream}`, options['awslogs-region']), source: `${source} (awslogs)` });
        }
      }
      const ecr = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(v.resolve(container.image));
      if (ecr) {
        const repository = v.arn('ecr', `repository/${ecr[3]}`, ecr[2], ecr[1]);
        requests.add({ principal: role, action: 'ecr:GetAuthorizationToken', resource: '*', source: `${source} (image pull)` });
        for (const action of ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage']) {
          requests.add({ principal: role, action, resource: repository, source: `${source} (image pull)` });
        }
      }
    }
    if (container.jobRoleArn) {
      const role = roleNameOf(v, container.jobRoleArn);
      requests.assume('ecs-tasks.amazonaws.com', role, roleArnOf(v, role), `${source} jobRoleArn`);
      // The job writes its result under ARTIFACTS_PREFIX of ARTIFACTS_BUCKET (submit-job sets both from the route).
      const buckets = new Set(machines.flatMap((m) => m.batchRoutes).filter((r) => r.jobDefinition === name && r.artifactsBucket).map((r) => r.artifactsBucket!));
      for (const bucket of buckets) {
        const object = `arn:${v.partition}:s3:::${bucket}/${EXAMPLE_RUN_REQUEST_ID}/result.json`;
        requests.add({ principal: role, action: 's3:PutObject', resource: object, context: { 'aws:SecureTransport': 'true' }, source: `${source} (the job's artifact)` });
        requests.add({ principal: role, action: 's3:PutObject', resource: object, context: { 'aws:SecureTransport': 'false' }, expect: 'Denied', source: `${source} (the job's artifact over plain HTTP)` });
        // A file above the SDK's multipart threshold: CreateMultipartUpload and UploadPart (both s3:PutObject)
        // generate the data key and decrypt it again for every part, under a customer-managed key.
        for (const target of bucketKeyTargets(v, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'])) {
          requests.add({ principal: role, ...target, action: target.action!, source: `${source} (the job's artifact, a multipart upload)` });
        }
      }
    }
  }
}

/** CloudWatch publishing each alarm to its topics, through the topic policy and the topic's key policy. */
function alarmRequests(v: TerraformValues, requests: Requests): void {
  const byTopic = new Map<string, string[]>();
  for (const [id, alarm] of resourcesOf(v, 'aws_cloudwatch_metric_alarm')) {
    const actions = [...(alarm.alarm_actions ?? []), ...(alarm.ok_actions ?? []), ...(alarm.insufficient_data_actions ?? [])].map((a: string) => v.resolve(a));
    for (const topic of new Set(actions.filter((a) => a.startsWith('arn:aws:sns:')))) byTopic.set(topic, [...(byTopic.get(topic) ?? []), id]);
  }
  for (const [topic, alarms] of byTopic) {
    const alarmArn = v.arn('cloudwatch', `alarm:${v.resolve(v.resource('aws_cloudwatch_metric_alarm', alarms[0]).alarm_name)}`);
    const source = `${alarms.length} alarms (aws_cloudwatch_metric_alarm.${alarms[0]}, ...)`;
    for (const [account, expect] of [[v.account, 'Allowed'], [OTHER_ACCOUNT, 'Denied']] as const) {
      const context = { 'aws:SourceAccount': account, 'aws:SourceArn': alarmArn.replace(`:${v.account}:`, `:${account}:`) };
      const from = expect === 'Denied' ? ' from another account' : '';
      requests.add({ principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, context, expect, source: `${source}${from}` });
      for (const target of topicKeyRequests(v, topic, context)) {
        requests.add({ principal: 'cloudwatch.amazonaws.com', ...target, expect, source: `${source}${from} (topic encryption)` });
      }
    }
  }
}

/**
 * API Gateway's account-level logging role writing the stages' access logs (and execution logs
 * where a stage enables them): the calls of AWS's documented policy for that role
 * (AmazonAPIGatewayPushToCloudWatchLogs) that such logging makes.
 */
function accountLoggingRequests(v: TerraformValues, requests: Requests): void {
  const accounts = resourcesOf(v, 'aws_api_gateway_account');
  if (accounts.length === 0) return;
  const [id, account] = accounts[0];
  const role = roleNameOf(v, account.cloudwatch_role_arn);
  requests.assume('apigateway.amazonaws.com', role, roleArnOf(v, role), `aws_api_gateway_account.${id}.cloudwatch_role_arn`);
  const write = (logGroupArn: string, source: string) => {
    requests.add({ principal: role, action: 'logs:DescribeLogGroups', resource: '*', source });
    requests.add({ principal: role, action: 'logs:DescribeLogStreams', resource: logGroupArn, source });
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) requests.add({ principal: role, action, resource: `${logGroupArn}:log-stream:0123456789abcdef`, source });
  };
  const stages = [
    ...resourcesOf(v, 'aws_api_gateway_stage').map(([sid, s]) => ({ source: `aws_api_gateway_stage.${sid}`, stage: s, apiId: v.attribute('aws_api_gateway_rest_api', v.target(s.rest_api_id)!.id, 'id'), name: v.resolve(s.stage_name) })),
    ...resourcesOf(v, 'aws_apigatewayv2_stage').map(([sid, s]) => ({ source: `aws_apigatewayv2_stage.${sid}`, stage: s, apiId: v.attribute('aws_apigatewayv2_api', v.target(s.api_id)!.id, 'id'), name: v.resolve(s.name) })),
  ];
  const restLogging = (stageName: string) =>
    Object.values(v.json.resource.aws_api_gateway_method_settings ?? {}).some((ms) => v.resolve(ms.stage_name) === stageName && (ms.settings?.logging_level ?? 'OFF') !== 'OFF');
  for (const { source, stage, apiId, name } of stages) {
    if (stage.access_log_settings?.destination_arn) write(v.resolve(stage.access_log_settings.destination_arn), `${source} (access logs)`);
    const executionLogs = (stage.default_route_settings?.logging_level ?? 'OFF') !== 'OFF' || ('stage_name' in stage && restLogging(name));
    if (executionLogs) {
      const group = v.arn('logs', `log-group:API-Gateway-Execution-Logs_${apiId}/${name}`);
      requests.add({ principal: role, action: 'logs:CreateLogGroup', resource: group, source: `${source} (execution logs)` });
      write(group, `${source} (execution logs)`);
    }
  }
}
