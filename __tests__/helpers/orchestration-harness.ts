/**
 * Runs the synthesized orchestration state machine on this machine: aws-local-stepfunctions
 * executes the definition taken from the default stack's Terraform JSON, each Task is bound to
 * the real handler of the function its Resource references, the table lives in dynalite, Batch
 * is a scripted stand-in behind aws-sdk-client-mock, and time is simulated (each Wait advances
 * the clock by its seconds, so a day of polling runs in milliseconds).
 */
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
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine } from 'aws-local-stepfunctions';
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
/** The pseudo-bundle standing for Step Functions' own SNS integration. */
export const SNS_PUBLISH = 'sns:publish';

/**
 * The default stack's state machine definition, with each function reference resolved to the ARN
 * Terraform would put there, and per Task state the bundle it invokes.
 */
export function synthesizedOrchestration(): { definition: Json; bundleOfTask: Record<string, string> } {
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
  if (resolved.includes('${')) throw new Error(`unresolved Terraform reference in the definition: ${/\$\{[^}]*\}/.exec(resolved)?.[0]}`);
  const definition = JSON.parse(resolved) as Json;
  const bundleOfTask: Record<string, string> = {};
  for (const [name, state] of Object.entries(definition.States as Record<string, Json>)) {
    if (state.Type !== 'Task') continue;
    const bundle = state.Resource === 'arn:aws:states:::sns:publish' ? SNS_PUBLISH : bundleOfArn[state.Resource];
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
  public submitCalls = 0;
  public describeCalls = 0;

  constructor(private readonly scriptFor: (input: SubmitJobCommandInput) => JobScript) {
    this.mock.on(SubmitJobCommand).callsFake((input: SubmitJobCommandInput) => {
      this.submitCalls++;
      if (this.throttleSubmits > 0) {
        this.throttleSubmits--;
        throw Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
      }
      const jobId = `job-${this.jobs.size + 1}`;
      this.jobs.set(jobId, { input, script: this.scriptFor(input), polls: 0 });
      return { jobId, jobName: input.jobName, jobArn: `arn:aws:batch:us-east-1:111122223333:job/${jobId}` };
    });
    this.mock.on(DescribeJobsCommand).callsFake(({ jobs }: { jobs: string[] }) => {
      this.describeCalls++;
      return { jobs: jobs.flatMap((id) => (this.jobs.has(id) ? [this.describe(id)] : [])) };
    });
    this.mock.on(ListJobsCommand).callsFake(({ filters }: { filters?: { values?: string[] }[] }) => {
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
      startedAt: 0,
      attempts: ended ? [{ container: { exitCode: job.terminated ? undefined : exitCode } }] : [],
    } as JobDetail;
  }

  restore(): void {
    this.mock.restore();
  }
}

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
    'poll-job': require('../../lambdas/poll-job/handler').handler,
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
  readonly before?: Record<string, (input: Json) => void>;
  /** Receives the parameters of every SNS publish (the failure alerts). */
  readonly alerts?: Json[];
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
  const machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0]);
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(bundleOfTask).map(([state, bundle]) => [
      state,
      async (taskInput: unknown) => {
        const state_ = taskInput as Json;
        if (state === STATE.poll) clock.advance(state_.job.waitSeconds);
        options.before?.[state]?.(state_);
        if (bundle === SNS_PUBLISH) {
          options.alerts?.push(state_);
          return { MessageId: 'local' } as never;
        }
        return (await handlers[bundle](taskInput, lambdaContext(bundle))) as never;
      },
    ]),
  );
  const retryIntervalOverrides = Object.fromEntries(Object.keys(bundleOfTask).map((state) => [state, 0]));
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides: { [STATE.wait]: 0 }, retryIntervalOverrides },
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
