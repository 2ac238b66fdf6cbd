/**
 * Runs the synthesized orchestration state machine on this machine: aws-local-stepfunctions
 * executes the definition taken from the default stack's Terraform JSON, each Task is bound to
 * the real handler of the function its Resource references, the table lives in dynalite, Batch
 * is a scripted stand-in behind aws-sdk-client-mock, and time is simulated (each Wait advances
 * the clock by its seconds, so a day of polling runs in milliseconds).
 */
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import {
  BatchClient,
  DescribeJobsCommand,
  JobDetail,
  JobStatus,
  ListJobsCommand,
  SubmitJobCommand,
  SubmitJobCommandInput,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine } from 'aws-local-stepfunctions';
import { type CompletionMode, DEFAULT_EVENT_SAFETY_NET, DEFAULT_POLLING } from '../../contract';
import { STATE } from '../../modules/orchestration/definition';
import { lambdaContext } from './lambda-context';
import { resourcesOf, synthDev } from './synth';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

export const TABLE_NAME = 'run-requests-test';
export const ARTIFACTS_BUCKET = 'artifacts-test';
export const CONNECTIONS_TABLE = 'connections-test';
/** The Lambda integration that waits for a task token (events completion). */
const WAIT_FOR_TASK_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
/** The pseudo-bundle standing for Step Functions' own SNS integration. */
export const SNS_PUBLISH = 'sns:publish';

/**
 * The default stack's state machine definition, with each function reference resolved to the ARN
 * Terraform would put there, and per Task state the bundle it invokes.
 */
export function synthesizedOrchestration(options: { completion?: CompletionMode } = {}): { definition: Json; bundleOfTask: Record<string, string> } {
  const json = synthDev();
  const [machine] = Object.values(resourcesOf(json, 'aws_sfn_state_machine'));
  const functions = resourcesOf(json, 'aws_lambda_function');
  const bundleOfArn: Record<string, string> = {};
  const resolved = (machine.definition as string).replace(/\$\{aws_lambda_function\.([^.}]+)\.arn\}/g, (ref, id: string) => {
    const fn = functions[id];
    if (!fn) throw new Error(`the definition references a function the stack does not have: ${ref}`);
    const arn = `arn:aws:lambda:us-east-1:111122223333:function:${fn.function_name}`;
    bundleOfArn[arn] = fn.environment.variables.POWERTOOLS_SERVICE_NAME;
    return arn;
  })
    .replace(/\$\{aws_batch_job_queue\.([^.}]+)\.arn\}/g, (ref, id: string) => {
      const queue = resourcesOf(json, 'aws_batch_job_queue')[id];
      if (!queue) throw new Error(`the definition references a queue the stack does not have: ${ref}`);
      return `arn:aws:batch:us-east-1:111122223333:job-queue/${queue.name}`;
    })
    .replace(/\$\{aws_sns_topic\.[^.}]+\.arn\}/g, 'arn:aws:sns:us-east-1:111122223333:failures')
    .replace(/\$\{aws_s3_bucket\.[^.}]+\.bucket\}/g, ARTIFACTS_BUCKET);
  // The commercial partition, as the stack's aws_partition data source reads it there.
  const concrete = resolved.replace(/\$\{data\.aws_partition\.[^.}]+\.partition\}/g, 'aws');
  if (concrete.includes('${')) throw new Error(`unresolved Terraform reference in the definition: ${/\$\{[^}]*\}/.exec(concrete)?.[0]}`);
  const definition = JSON.parse(concrete) as Json;
  const bundleOfTask: Record<string, string> = {};
  for (const [name, state] of Object.entries(definition.States as Record<string, Json>)) {
    // The route is data the definition carries (its Pass state's Result): a Batch route set to
    // another completion mode is the route configured so, with that mode's default schedule.
    if (options.completion && state.Type === 'Pass' && state.Result?.type === 'batch' && state.Result.completion !== options.completion) {
      Object.assign(state.Result, { completion: options.completion, polling: options.completion === 'poll' ? DEFAULT_POLLING : DEFAULT_EVENT_SAFETY_NET });
    }
    if (state.Type !== 'Task') continue;
    const bundle =
      state.Resource === 'arn:aws:states:::sns:publish'
        ? SNS_PUBLISH
        : state.Resource === WAIT_FOR_TASK_TOKEN
          ? bundleOfArn[state.Parameters?.FunctionName]
          : bundleOfArn[state.Resource];
    if (!bundle) throw new Error(`Task '${name}' has a Resource the harness cannot bind: ${state.Resource}`);
    bundleOfTask[name] = bundle;
  }
  return { definition, bundleOfTask };
}

/** A local DynamoDB (dynalite) holding the run-requests table. */
export async function startTable(): Promise<{ client: DynamoDBClient; endpoint: string; close: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE_NAME,
      KeySchema: [{ AttributeName: 'runRequestID', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'runRequestID', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: CONNECTIONS_TABLE,
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'connectionId', AttributeType: 'S' },
        { AttributeName: 'clientId', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [{ IndexName: 'byClientId', KeySchema: [{ AttributeName: 'clientId', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return { client, endpoint, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A job's scripted life: the statuses DescribeJobs reports, one per call, the last one repeating. */
export interface JobScript {
  readonly statuses: JobStatus[];
  readonly exitCode?: number;
  readonly statusReason?: string;
}

/** Batch, scripted: SubmitJob creates a job that follows the script of its job definition. */
export class FakeBatch {
  public readonly mock = mockClient(BatchClient);
  public readonly jobs = new Map<string, { input: SubmitJobCommandInput; script: JobScript; polls: number; terminated?: string }>();
  /** Throttle the next N SubmitJob calls. */
  public throttleSubmits = 0;
  /** Runs once a job is submitted, before SubmitJob returns (its events can come that early). */
  public onSubmitted?: (jobId: string) => Promise<void>;
  public submitCalls = 0;
  public describeCalls = 0;
  public listCalls = 0;

  constructor(private readonly scriptFor: (input: SubmitJobCommandInput) => JobScript) {
    this.mock.on(SubmitJobCommand).callsFake(async (input: SubmitJobCommandInput) => {
      this.submitCalls++;
      if (this.throttleSubmits > 0) {
        this.throttleSubmits--;
        throw Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
      }
      const jobId = `job-${this.jobs.size + 1}`;
      this.jobs.set(jobId, { input, script: this.scriptFor(input), polls: 0 });
      await this.onSubmitted?.(jobId);
      return { jobId, jobName: input.jobName, jobArn: `arn:aws:batch:us-east-1:111122223333:job/${jobId}` };
    });
    this.mock.on(DescribeJobsCommand).callsFake(({ jobs }: { jobs: string[] }) => {
      this.describeCalls++;
      return { jobs: jobs.flatMap((id) => (this.jobs.has(id) ? [this.describe(id)] : [])) };
    });
    this.mock.on(ListJobsCommand).callsFake(({ filters }: { filters?: { values?: string[] }[] }) => {
      this.listCalls++;
      const name = filters?.[0]?.values?.[0];
      return { jobSummaryList: [...this.jobs].filter(([, j]) => j.input.jobName === name).map(([jobId, j]) => ({ jobId, jobName: j.input.jobName, createdAt: 0 })) };
    });
    this.mock.on(TerminateJobCommand).callsFake(({ jobId, reason }: { jobId: string; reason: string }) => {
      const job = this.jobs.get(jobId);
      if (job) job.terminated = reason;
      return {};
    });
  }

  private describe(jobId: string): JobDetail {
    const job = this.jobs.get(jobId)!;
    const { statuses, exitCode, statusReason } = job.script;
    const status = job.terminated ? 'FAILED' : statuses[Math.min(job.polls++, statuses.length - 1)];
    const ended = status === 'SUCCEEDED' || status === 'FAILED';
    return {
      jobId,
      jobName: job.input.jobName!,
      jobQueue: job.input.jobQueue!,
      jobDefinition: job.input.jobDefinition!,
      status,
      statusReason: job.terminated ?? (ended ? statusReason : undefined),
      tags: job.input.tags,
      startedAt: 0,
      attempts: ended ? [{ container: { exitCode: job.terminated ? undefined : exitCode } }] : [],
    } as JobDetail;
  }

  /**
   * The state changes Batch emits for the job's run to the end of its script (the RUNNING and
   * the final status, as EventBridge events); later DescribeJobs calls see the final status.
   */
  runToEnd(jobId: string): Json[] {
    const job = this.jobs.get(jobId)!;
    const { statuses } = job.script;
    const changes = statuses.includes('RUNNING') && statuses.at(-1) !== 'RUNNING' ? ['RUNNING', statuses.at(-1)!] : [statuses.at(-1)!];
    job.polls = statuses.length - 1;
    // Without the job's tags, as AWS's example events: job-events finds the run by the job name.
    const { tags: _tags, ...detail } = this.describe(jobId);
    return changes
      .filter((status) => status === 'RUNNING' || status === 'SUCCEEDED' || status === 'FAILED')
      .map((status) => jobStateChange({ ...detail, status, ...(status === 'RUNNING' ? { attempts: [], statusReason: undefined } : {}) }));
  }

  restore(): void {
    this.mock.restore();
  }
}

/** A Batch Job State Change as EventBridge delivers it to job-events. */
export function jobStateChange(detail: JobDetail): Json {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Batch Job State Change',
    source: 'aws.batch',
    account: '111122223333',
    time: new Date(Date.now()).toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:batch:us-east-1:111122223333:job/${detail.jobId}`],
    detail,
  };
}

/**
 * Step Functions' side of the task tokens: SendTaskSuccess settles the Task waiting on the token;
 * a token already settled (or never issued) is refused as Step Functions refuses it.
 */
export class FakeTaskTokens {
  public readonly mock = mockClient(SFNClient);
  private readonly waiting = new Map<string, { settle: (output: Json) => void }>();
  private readonly settled = new Map<string, Json>();
  public sendCalls = 0;
  public refused = 0;

  constructor() {
    this.mock.on(SendTaskSuccessCommand).callsFake(({ taskToken, output }: { taskToken: string; output: string }) => {
      this.sendCalls++;
      const waiter = this.waiting.get(taskToken);
      if (!waiter) {
        this.refused++;
        throw Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut', $metadata: { httpStatusCode: 400 } });
      }
      this.waiting.delete(taskToken);
      this.settled.set(taskToken, JSON.parse(output) as Json);
      waiter.settle(JSON.parse(output) as Json);
      return {};
    });
  }

  /** The Task now waits on `token`. */
  issue(token: string): void {
    this.waiting.set(token, { settle: () => undefined });
  }

  /** The output sent for `token`, if any. */
  outputOf(token: string): Json | undefined {
    return this.settled.get(token);
  }

  /** The Task stopped waiting (timed out): the token is spent. */
  expire(token: string): void {
    this.waiting.delete(token);
  }

  restore(): void {
    this.mock.restore();
  }
}

/** How Batch's job state changes reach job-events in a run. */
export type EventDelivery =
  /** After the execution waits on the job: RUNNING, then the end. */
  | 'prompt'
  /** Before the execution waits (a short job): await-job finds the end recorded. */
  | 'before-await'
  /** Before submit-job has recorded the job's id (a job that ends as it is submitted): the event records it. */
  | 'before-recorded'
  /** Each event twice, and the RUNNING once more after the end (at least once, in no guaranteed order). */
  | 'repeated'
  /** None: the safety-net checks find the job's end. */
  | 'lost';

/** Simulated time: starts now, moves only when told. */
export class SimulatedClock {
  private offsetMs = 0;
  private readonly startMs = Date.now();
  private spy?: jest.SpyInstance;

  install(): void {
    this.spy = jest.spyOn(Date, 'now').mockImplementation(() => this.startMs + this.offsetMs);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  uninstall(): void {
    this.spy?.mockRestore();
  }
}

export type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Loads the real handlers with the table's endpoint in the environment. */
export function loadHandlers(endpoint: string): Record<string, Handler> {
  process.env.TABLE_NAME = TABLE_NAME;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.FINISHED_RETENTION_DAYS = '7';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.CONNECTIONS_TABLE = CONNECTIONS_TABLE;
  process.env.WEBSOCKET_ENDPOINT = 'https://local.execute-api.us-east-1.amazonaws.com/v1';
  process.env.URL_EXPIRES_SECONDS = '86400';
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    'submit-job': require('../../lambdas/submit-job/handler').handler,
    'await-job': require('../../lambdas/await-job/handler').handler,
    'poll-job': require('../../lambdas/poll-job/handler').handler,
    'job-events': require('../../lambdas/job-events/handler').handler,
    'record-status': require('../../lambdas/record-status/handler').handler,
    notify: require('../../lambdas/notify/handler').handler,
    'generate-barcode': require('../../lambdas/generate-barcode/handler').handler,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** A client's WebSocket connection, as ws-connect records it. */
export async function putConnection(client: DynamoDBClient, connection: { connectionId: string; clientId: string; callerIdentity: string; expiresAt?: number }): Promise<void> {
  const item = { connectedAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600, ...connection };
  await client.send(new PutItemCommand({ TableName: CONNECTIONS_TABLE, Item: marshall(item) }));
}

/** The WebSocket management API and S3, as stand-ins that remember what they were sent. */
export class FakeDelivery {
  public readonly apigw = mockClient(ApiGatewayManagementApiClient);
  public readonly s3 = mockClient(S3Client);
  /** Messages per connection id, parsed. */
  public readonly messages = new Map<string, Json[]>();
  public readonly objects = new Map<string, { body: Uint8Array; contentType?: string }>();
  /** Alerts published to the failure topic. */
  public readonly alerts: Json[] = [];

  constructor() {
    this.apigw.on(PostToConnectionCommand).callsFake(({ ConnectionId, Data }: { ConnectionId: string; Data: Uint8Array | string }) => {
      const list = this.messages.get(ConnectionId) ?? [];
      list.push(JSON.parse(typeof Data === 'string' ? Data : Buffer.from(Data).toString('utf8')));
      this.messages.set(ConnectionId, list);
      return {};
    });
    this.s3.on(PutObjectCommand).callsFake(({ Key, Body, ContentType }: { Key: string; Body: Uint8Array; ContentType?: string }) => {
      this.objects.set(Key, { body: Body, contentType: ContentType });
      return {};
    });
  }

  restore(): void {
    this.apigw.restore();
    this.s3.restore();
  }
}


/** The run request as the API writes it, stored in the table; returns it as the execution input. */
export async function putAcceptedRequest(client: DynamoDBClient, request: Json): Promise<Json> {
  const item = { status: 'ACCEPTED', clientname: 'test-client', receivedAt: '2026-11-23T08:00:00Z', receivedAtEpochMs: 1795420800000, callerIdentity: 'arn:aws:iam::111122223333:user/test', ...request };
  await client.send(new PutItemCommand({ TableName: TABLE_NAME, Item: marshall(item, { removeUndefinedValues: true }) }));
  return item;
}

export async function readItem(client: DynamoDBClient, runRequestID: string): Promise<Json> {
  const out = await client.send(new GetItemCommand({ TableName: TABLE_NAME, Key: marshall({ runRequestID }), ConsistentRead: true }));
  return out.Item ? unmarshall(out.Item) : {};
}

export interface RunOptions {
  /** Per Task state: run before the real handler (e.g. to fail once). */
  readonly before?: Record<string, (input: Json) => void | Promise<void>>;
  /** Receives the parameters of every SNS publish (the failure alerts). */
  readonly alerts?: Json[];
  /** For routes that complete by events: Batch, the task tokens, and how the job's events arrive. */
  readonly events?: { readonly batch: FakeBatch; readonly tokens: FakeTaskTokens; readonly delivery: EventDelivery; readonly handled?: Json[] };
}

/**
 * aws-local-stepfunctions 3.0 resolves a Task's TimeoutSecondsPath against the input after
 * Parameters; Step Functions resolves it against the state input. The await Task's timeout is
 * therefore kept from the engine and applied by its binding, from the state's `$.job.waitSeconds`.
 */
function withAwaitTimedByHarness(definition: Json): Json {
  // A JSON copy: the engine resolves only plain objects of this realm (structuredClone's are not, under Jest).
  const copy = JSON.parse(JSON.stringify(definition)) as Json;
  for (const [name, state] of Object.entries(copy.States as Record<string, Json>)) {
    if (state.Resource !== WAIT_FOR_TASK_TOKEN) continue;
    if (state.TimeoutSecondsPath !== '$.job.waitSeconds') throw new Error(`harness: '${name}' is timed by ${state.TimeoutSecondsPath}, the harness by $.job.waitSeconds`);
    delete state.TimeoutSecondsPath;
    // Longer than any wait of a test; setTimeout's limit is 2^31-1 ms.
    state.TimeoutSeconds = 2_000_000;
  }
  return copy;
}

/**
 * Executes the definition once. Waits take no real time but advance the simulated clock by the
 * seconds the Wait state would wait; retries pause for no time.
 */
export async function execute(
  definition: Json,
  bundleOfTask: Record<string, string>,
  handlers: Record<string, Handler>,
  clock: SimulatedClock,
  input: Json,
  options: RunOptions = {},
): Promise<{ result?: unknown; error?: { name: string; message: string }; states: string[]; retries: string[] }> {
  const machine = new StateMachine(withAwaitTimedByHarness(definition) as ConstructorParameters<typeof StateMachine>[0]);
  // The job state the last submit or poll returned (the state's `$.job`): how long a safety-net wait lasts.
  let lastJob: Json | undefined;
  const deliver = async (events: Json[], times: number) => {
    for (const event of events) {
      for (let i = 0; i < times; i++) options.events?.handled?.push((await handlers['job-events'](event, lambdaContext('job-events'))) as Json);
    }
  };
  if (options.events?.delivery === 'before-recorded') {
    const { batch } = options.events;
    batch.onSubmitted = (jobId) => deliver(batch.runToEnd(jobId), 1);
  }
  const awaitJob = async (taskInput: Json): Promise<Json> => {
    if (!options.events) throw new Error('harness: a route completes by events: pass options.events');
    const { batch, tokens, delivery } = options.events;
    const payload = taskInput.Payload as Json;
    tokens.issue(payload.taskToken);
    // Lost events: the job goes on as its script says, seen only by the checks.
    const events = delivery === 'lost' || delivery === 'before-recorded' ? [] : batch.runToEnd(payload.jobId);
    if (delivery === 'before-await') await deliver(events, 1);
    await handlers['await-job'](payload, lambdaContext('await-job'));
    if (delivery === 'prompt') await deliver(events, 1);
    if (delivery === 'repeated') await deliver([...events, events[0]], 2);
    const output = tokens.outputOf(payload.taskToken);
    if (output) return output;
    // Nothing woke the Task: its timeout (the safety net's wait) passes.
    tokens.expire(payload.taskToken);
    clock.advance(lastJob?.waitSeconds ?? 0);
    throw Object.assign(new Error('the task timed out'), { name: 'States.Timeout' });
  };
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(bundleOfTask).map(([state, bundle]) => [
      state,
      async (taskInput: unknown) => {
        const state_ = taskInput as Json;
        // A poll after a Wait: the Wait's time passed (a poll after a timed-out await: it passed there).
        if (state === STATE.poll && !state_.check) clock.advance(state_.job.waitSeconds);
        await options.before?.[state]?.(state_);
        if (bundle === SNS_PUBLISH) {
          options.alerts?.push(state_);
          return { MessageId: 'local' } as never;
        }
        if (bundle === 'await-job') return (await awaitJob(state_)) as never;
        const result = (await handlers[bundle](taskInput, lambdaContext(bundle))) as Json;
        if (bundle === 'submit-job' || bundle === 'poll-job') lastJob = result;
        return result as never;
      },
    ]),
  );
  const retryIntervalOverrides = Object.fromEntries(Object.keys(bundleOfTask).map((state) => [state, 0]));
  // Step Functions issues a new token each time a Task waits: `$$.Task.Token` is read once per wait.
  let tokens = 0;
  const context = { Task: { get Token() { return `token-${++tokens}`; } } };
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides: { [STATE.wait]: 0 }, retryIntervalOverrides },
    context,
  });
  const states: string[] = [];
  const retries: string[] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      const name = (event as { state?: { name: string } }).state?.name ?? '';
      if (event.type === 'StateEntered') states.push(name);
      if (event.type === 'StateRetried') retries.push(name);
    }
  })();
  try {
    const result = await execution.result;
    await logs;
    return { result, states, retries };
  } catch (err) {
    await logs.catch(() => undefined);
    // The execution's own error (a Fail state's Error, or the uncaught task error) is the cause.
    const e = ((err as Error).cause ?? err) as Error;
    return { error: { name: e.name, message: e.message }, states, retries };
  }
}
