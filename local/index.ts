/**
 * Local mode: the default stack's pipeline on one machine, from the artifacts a deployment uses
 * (the synthesized Terraform JSON and the built Lambda bundles). REST API, stream, Step
 * Functions, Batch, WebSocket and S3 are local servers; the real bundles reach them through the
 * SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables. Nothing here re-implements a handler.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { BATCH_JOB_STATE_CHANGE, KEEPALIVE_INTERVAL_SECONDS, PING_MESSAGE, RUN_REQUEST_KEY, TERMINAL_STATUSES } from '../contract';
import { startLocalBatch } from './batch';
import { eventRulesOf, functionsOf, jobDefinitionsOf, LOCAL_ACCOUNT, LOCAL_REGION, outputValue, readSynthesized, referenceResolver, streamMappingsOf, tablesOf } from './config';
import { lockDataDir } from './data-dir-lock';
import { type EventFaults, LocalEventBus } from './events';
import { startLocalDynamo } from './dynamodb';
import { appendJsonLine } from './jsonl';
import { bundleInvoker } from './lambdas';
import { recentRunRequests } from './recent';
import { restApiFromConfig, type ThrottleConfig } from './rest-config';
import { startLocalRestApi } from './rest';
import { pageRoutesOf } from './routes';
import { startLocalS3 } from './s3';
import { startLocalStepFunctions } from './sfn';
import { LocalStream } from './stream';
import { consoleLog, LambdaHandler, LocalLog, LocalService } from './types';
import { startLocalWebSocket } from './websocket';
import { websocketApiFromConfig } from './websocket-config';
import type { LocalIdentity } from './sigv4';
import { startFront } from './front';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

export interface LocalModeOptions {
  /** REST API port (the status page is served there too). 0 = a free port. @default 3000 */
  readonly port?: number;
  /** Where every service keeps its state. */
  readonly dataDir: string;
  /** The synthesized stack. @default cdktf.out/stacks/dev under `root` */
  readonly stackDir?: string;
  /** The project root (dist/bundles lives there). */
  readonly root: string;
  /** Scales the state machine's waits between polls (1 = as deployed, 0 = none). @default 1 */
  readonly waitScale?: number;
  /**
   * Throttle the REST API as the deployed stage does (each method's rate and burst from the
   * synthesized method settings: 429 past them). False for load that must not be throttled.
   * @default true
   */
  readonly apiThrottle?: boolean;
  /**
   * Callers local mode verifies SigV4 signatures of (REST and WebSocket, service `execute-api`):
   * a signed request acts as its identity's ARN. @default - none
   */
  readonly identities?: readonly LocalIdentity[];
  /** Refuse unsigned requests (403), as the deployed API does. @default false: they act as LOCAL_IDENTITY */
  readonly requireSignature?: boolean;
  /** Batch API calls per second before throttling, as the real service. 0 = off. @default 50 */
  readonly batchThrottlePerSecond?: number;
  /** Time a local job spends in each status before it runs. @default 200 */
  readonly batchStatusDelayMs?: number;
  /** @default one JSON line per event on stderr */
  readonly log?: LocalLog;
  /** Lambda log level (Powertools). @default 'WARN' */
  readonly lambdaLogLevel?: string;
  /** Faults of EventBridge's delivery (lost, repeated, late events). @default none */
  readonly eventFaults?: EventFaults;
  /** The WebSocket API's limits, shorter for tests. @default - API Gateway's: 10 minutes idle, 2 hours at most */
  readonly websocketLimits?: { readonly idleTimeoutMs?: number; readonly maxConnectionMs?: number };
}

export interface LocalMode {
  /** Base URL of the REST stage, e.g. http://127.0.0.1:3000/v1 */
  readonly apiUrl: string;
  readonly runRequestsUrl: string;
  readonly websocketUrl: string;
  readonly statusPageUrl: string;
  readonly stateMachineArn: string;
  /** The local DynamoDB (the run requests, the connections). */
  readonly dynamodbEndpoint: string;
  /** The identity every local caller has (local mode takes no credentials). */
  readonly identity: string;
  /** Each REST method's throttle (`POST /runrequests` → its limits), as the stage deploys it; undefined when switched off. */
  readonly apiThrottle?: Readonly<Record<string, ThrottleConfig>>;
  /** Where the artifacts bucket's objects are kept, each at its key (`<runRequestID>/...`). */
  readonly artifactsDir: string;
  /** Where each job's output is kept, as `<jobId>.log`. */
  readonly jobLogsDir: string;
  readonly services: { readonly batch: Awaited<ReturnType<typeof startLocalBatch>>; readonly sfn: Awaited<ReturnType<typeof startLocalStepFunctions>>; readonly events: LocalEventBus };
  /** Resolves when no stream batch, execution or job is in flight. */
  idle(): Promise<void>;
  /** Delivers the stream's last batch again (a replayed batch must start nothing twice). */
  replayStream(): Promise<number>;
  close(): Promise<void>;
}

export const LOCAL_IDENTITY = `arn:aws:iam::${LOCAL_ACCOUNT}:user/local`;

export async function startLocalMode(options: LocalModeOptions): Promise<LocalMode> {
  const log = options.log ?? consoleLog('local');
  const stackDir = options.stackDir ?? path.join(options.root, 'cdktf.out', 'stacks', 'dev');
  const config = readSynthesized(stackDir);
  mkdirSync(options.dataDir, { recursive: true });
  // Before any service opens a file there: a second local mode on this dir stops here, naming the first.
  const lock = lockDataDir(options.dataDir);
  // Released last (services close in reverse).
  const services: LocalService[] = [{ url: 'data-dir-lock', close: async () => lock.release() }];
  const closeAll = async () => {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
  };
  try {
    // Data stores and Batch first: the bundles' clients point at them.
    const dynamo = await startLocalDynamo({ dataDir: options.dataDir, log });
    services.push(dynamo);
    const tables = tablesOf(config);
    const runRequestsTable = tables.find((t) => t.hashKey === RUN_REQUEST_KEY);
    if (!runRequestsTable) throw new Error(`local mode: the stack has no run-requests table (a table keyed by ${RUN_REQUEST_KEY})`);
    await dynamo.ensureTables(tables.map((t) => ({ name: t.name, hashKey: t.hashKey, indexes: t.indexes })));
    const s3 = await startLocalS3({ dataDir: options.dataDir, log });
    services.push(s3);
    const resolve = referenceResolver(config);
    const artifactsBucket = outputValue(config, resolve, 'artifacts_bucket');
    const functions = functionsOf(config);
    const invokeBundle = bundleInvoker(options.root);
    const invoke = (fn: { bundle: string; functionName: string; timeoutSeconds: number }): LambdaHandler => invokeBundle(fn.bundle, fn.functionName, fn.timeoutSeconds);
    // EventBridge: Batch's job state changes, delivered to the rules' functions once every endpoint is set (start()).
    const events = new LocalEventBus({
      dataDir: options.dataDir,
      rules: eventRulesOf(config, resolve),
      handlerOf: (functionId) => invoke(functions.find((f) => f.id === functionId)!),
      faults: options.eventFaults,
      log,
    });
    services.push({ url: 'local-events', close: () => events.stop() });
    const jobDefinitions = jobDefinitionsOf(config);
    const batch = await startLocalBatch({
      dataDir: options.dataDir,
      jobDefinitions,
      throttlePerSecond: options.batchThrottlePerSecond ?? 50,
      statusDelayMs: options.batchStatusDelayMs,
      onStateChange: (detail) => events.put(BATCH_JOB_STATE_CHANGE.source, BATCH_JOB_STATE_CHANGE.detailType, detail, [String(detail.jobArn)]),
      log,
    });
    services.push(batch);
    const websocketApi = websocketApiFromConfig(config);
    const ws = await startLocalWebSocket({
      stage: websocketApi.stage,
      identity: { userArn: LOCAL_IDENTITY, sourceIp: '127.0.0.1' },
      onConnect: invoke(websocketApi.connectFunction),
      onDisconnect: invoke(websocketApi.disconnectFunction),
      routeSelectionExpression: websocketApi.routeSelectionExpression,
      messageRoutes: websocketApi.messageRoutes,
      idleTimeoutMs: options.websocketLimits?.idleTimeoutMs,
      maxConnectionMs: options.websocketLimits?.maxConnectionMs,
      log,
    });
    services.push(ws);

    // The state machine: its definition as synthesized, every Task bound to the bundle its Resource names.
    const [machineId, machine] = Object.entries(config.resource.aws_sfn_state_machine ?? {})[0] ?? [];
    if (!machine) throw new Error('local mode: the stack has no state machine');
    const stateMachineArn = resolve(`\${aws_sfn_state_machine.${machineId}.arn}`);
    const definition = JSON.parse(resolve(machine.definition)) as { States: Record<string, Json> };
    const functionByArn = new Map(functions.map((f) => [resolve(`\${aws_lambda_function.${f.id}.arn}`), f]));
    const pageRoutes = pageRoutesOf(definition.States, jobDefinitions, (functionArn) => functionByArn.get(functionArn)?.bundle);
    const waitScale = options.waitScale ?? 1;
    const waitBefore = waitsBeforeTasks(definition.States);
    for (const state of Object.values(definition.States)) {
      const retriesTimeouts = (state.Retry ?? []).some((r: Json) => (r.ErrorEquals as string[]).includes('States.Timeout'));
      if (state.Type !== 'Task' || !retriesTimeouts) continue;
      // A bundle runs in this process and cannot be stopped the way Lambda stops a function at its
      // timeout: a Task timeout here would retry the Task while the first attempt still runs, two
      // attempts at once, which never happens deployed. So these Tasks wait for their handler.
      state.TimeoutSeconds = 86400;
    }
    // A Task that waits for a task token (a job's end, with events): see bindTokenWaits.
    const tokenWaits = bindTokenWaits(definition.States);
    const snsDir = path.join(options.dataDir, 'sns');
    mkdirSync(snsDir, { recursive: true });
    const taskHandlers = Object.fromEntries(
      Object.entries(definition.States)
        .filter(([, s]) => s.Type === 'Task')
        .map(([name, s]) => {
          let run: (input: unknown) => Promise<unknown>;
          const tokenWait = tokenWaits.get(name);
          if (tokenWait) {
            const fn = functionByArn.get(tokenWait.functionArn);
            if (!fn) throw new Error(`local mode: Task '${name}' invokes ${tokenWait.functionArn}, which is not a function of the stack`);
            const invokeFunction = invoke(fn);
            run = async (input) => {
              const { [STATE_INPUT]: stateInput, ...parameters } = input as Json;
              // Invoked as lambda:invoke invokes (the Payload is the event); then the Task waits on its token.
              await invokeFunction(parameters.Payload);
              const timeoutSeconds = tokenWait.timeoutSecondsPath ? Number(valueAt(stateInput, tokenWait.timeoutSecondsPath)) : 86400;
              return sfn.waitForTaskToken(parameters.Payload, localWaitMs(timeoutSeconds, stateInput, waitScale));
            };
          } else if (s.Resource === 'arn:aws:states:::sns:publish') {
            run = async (input) => {
              const message = input as { TopicArn: string; Message: string };
              appendJsonLine(path.join(snsDir, 'published.jsonl'), { at: new Date().toISOString(), ...message });
              log('sns published', { topicArn: message.TopicArn, message: message.Message });
              return { MessageId: `local-${Date.now()}` };
            };
          } else {
            const fn = functionByArn.get(s.Resource);
            if (!fn) throw new Error(`local mode: Task '${name}' invokes ${s.Resource}, which is not a function of the stack`);
            run = invoke(fn);
          }
          const waitPath = waitBefore.get(name);
          const timedOutInto = timeoutCatchPaths(definition.States, name);
          return [
            name,
            async (input: unknown) => {
              // The Wait before this Task is skipped by the interpreter and slept here, scaled.
              // Entered from a token wait that timed out (its Catch result is in the input), the time has passed there.
              const afterTimeout = timedOutInto.some((p) => valueAt(input, p) !== undefined);
              if (waitPath && waitScale > 0 && !afterTimeout) await sleep(localWaitMs(Number(valueAt(input, waitPath) ?? 0), input, waitScale));
              return run(input);
            },
          ];
        }),
    );

    // Every function's environment, resolved, then the endpoints of the local services.
    const env: Record<string, string> = {};
    for (const fn of functions) {
      for (const [k, v] of Object.entries(fn.environment)) {
        if (k === 'WEBSOCKET_ENDPOINT' || k === 'POWERTOOLS_SERVICE_NAME') continue;
        const value = resolve(v);
        if (env[k] !== undefined && env[k] !== value) throw new Error(`local mode: functions disagree on ${k} (${env[k]} / ${value}); they share one process`);
        env[k] = value;
      }
    }
    const sfn = await startLocalStepFunctions({
      dataDir: options.dataDir,
      stateMachineArn,
      definition,
      taskHandlers,
      // Slept (scaled) by the Task that follows instead.
      waitTimeOverrides: Object.fromEntries(Object.entries(definition.States).filter(([, s]) => s.Type === 'Wait' && waitBefore.has(s.Next)).map(([n]) => [n, 0])),
      log,
    });
    services.push(sfn);
    Object.assign(process.env, env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.url,
      AWS_ENDPOINT_URL_BATCH: batch.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      WEBSOCKET_ENDPOINT: ws.managementEndpoint,
      POWERTOOLS_LOG_LEVEL: options.lambdaLogLevel ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });

    // The stream: each successful write of the REST API, as the event source mapping would deliver it.
    const stream = new LocalStream({
      dataDir: options.dataDir,
      tables,
      mappings: streamMappingsOf(config),
      handlerOf: (functionId) => invoke(functions.find((f) => f.id === functionId)!),
      log,
    });
    const restApi = restApiFromConfig(config, resolve);
    const apiThrottle = options.apiThrottle ?? true;
    const rest = await startLocalRestApi({
      port: 0,
      api: restApi,
      throttle: apiThrottle,
      identities: options.identities,
      requireSignature: options.requireSignature,
      region: LOCAL_REGION,
      dynamodbEndpoint: dynamo.endpoint,
      identity: { userArn: LOCAL_IDENTITY, caller: LOCAL_IDENTITY, sourceIp: '127.0.0.1' },
      onItemWritten: (write) => stream.insert(write.tableName, write.item),
      log,
    });
    services.push(rest);
    // Every service is up and the bundles' endpoints are set: what the stream's log still owed
    // is delivered, and the executions a stop or a crash interrupted run again.
    stream.start();
    events.start();
    sfn.resumeInterrupted();
    const apiStage = Object.values(config.resource.aws_api_gateway_stage ?? {})[0]?.stage_name ?? 'v1';
    const collection = Object.values(config.resource.aws_api_gateway_resource ?? {}).find((r) => !String(r.path_part).startsWith('{'))?.path_part ?? 'runrequests';
    const idle = async () => {
      for (let i = 0; i < 1000; i++) {
        await stream.idle();
        await sfn.idle();
        await batch.idle();
        await events.idle();
        if (stream.pending === 0) return;
      }
    };
    const front = await startFront({
      port: options.port ?? 3000,
      restApi: rest.handleRequest,
      statusPageFile: path.join(options.root, 'local', 'status-page.html'),
      pageConfig: () => ({
        runRequestsUrl: `${apiStage}/${collection}`,
        websocketUrl: ws.websocketUrl,
        // The page keeps its connection alive as the client protocol says, within this API's idle timeout.
        keepaliveMessage: JSON.stringify(PING_MESSAGE),
        keepaliveIntervalMs: String(Math.min(KEEPALIVE_INTERVAL_SECONDS * 1000, ws.limits.idleTimeoutMs / 2)),
        terminalStatuses: TERMINAL_STATUSES.join(','),
        // Where a Batch job's artifacts land (ARTIFACTS_PREFIX under the bucket's directory).
        artifactsDir: s3.bucketDir(artifactsBucket),
        // The form's routes and the parameters each offers.
        routes: pageRoutes,
      }),
      controls: {
        state: () => ({ executionsStarted: sfn.started, batchCalls: batch.calls, batchThrottledCalls: batch.throttledCalls, apiThrottledRequests: rest.throttledRequests, streamPending: stream.pending, events: events.counts }),
        idle: () => idle(),
        replayStream: () => stream.replayLastBatch(),
        jobLogFile: (jobId) => batch.job(jobId)?.logFile,
        recentRunRequests: (limit) => recentRunRequests(dynamo.client, runRequestsTable.name, limit),
      },
    });
    services.push(front);
    const apiUrl = `${front.url}/${apiStage}`;
    log('local mode ready', { apiUrl, websocketUrl: ws.websocketUrl });
    return {
      apiUrl,
      runRequestsUrl: `${apiUrl}/${collection}`,
      websocketUrl: ws.websocketUrl,
      statusPageUrl: `${front.url}/`,
      stateMachineArn,
      dynamodbEndpoint: dynamo.endpoint,
      identity: LOCAL_IDENTITY,
      apiThrottle: apiThrottle ? Object.fromEntries(restApi.methods.map((m) => [`${m.httpMethod} ${m.resourcePath}`, m.throttle])) : undefined,
      artifactsDir: s3.bucketDir(artifactsBucket),
      jobLogsDir: batch.logDir,
      services: { batch, sfn, events },
      replayStream: () => stream.replayLastBatch(),
      idle,
      close: async () => {
        stream.stop();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The key under which a token-waiting Task's binding receives its state input (local copy only). */
const STATE_INPUT = 'localStateInput';
const WAIT_FOR_TASK_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/**
 * The Tasks that invoke a function and wait for a task token, by name. aws-local-stepfunctions
 * resolves a TimeoutSecondsPath against the input after Parameters, Step Functions against the
 * state input: so in the local copy of the definition the binding times the wait itself (scaled
 * as Waits are), reading the path from the state input that the copy's Parameters also pass.
 */
function bindTokenWaits(states: Record<string, Json>): Map<string, { functionArn: string; timeoutSecondsPath?: string }> {
  const waits = new Map<string, { functionArn: string; timeoutSecondsPath?: string }>();
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Task' || state.Resource !== WAIT_FOR_TASK_TOKEN) continue;
    waits.set(name, { functionArn: state.Parameters.FunctionName, timeoutSecondsPath: state.TimeoutSecondsPath });
    delete state.TimeoutSecondsPath;
    state.TimeoutSeconds = 86400;
    state.Parameters = { ...state.Parameters, [`${STATE_INPUT}.$`]: '$' };
  }
  return waits;
}

/** Where the Catches of token waits that lead to `task` on their timeout put the error. */
function timeoutCatchPaths(states: Record<string, Json>, task: string): string[] {
  return Object.values(states)
    .filter((s) => s.Resource === WAIT_FOR_TASK_TOKEN)
    .flatMap((s) => (s.Catch ?? []) as Json[])
    .filter((c) => c.Next === task && (c.ErrorEquals as string[]).includes('States.Timeout') && typeof c.ResultPath === 'string')
    .map((c) => c.ResultPath as string);
}

/** Wait states with SecondsPath, by the Task they lead to: the Task sleeps their time, scaled. */
function waitsBeforeTasks(states: Record<string, Json>): Map<string, string> {
  const result = new Map<string, string>();
  for (const state of Object.values(states)) {
    if (state.Type === 'Wait' && state.SecondsPath && states[state.Next]?.Type === 'Task') result.set(state.Next, state.SecondsPath);
  }
  return result;
}

/**
 * How long local mode waits where the definition waits `waitSeconds` (before a poll, or for a job's
 * end): the check schedule is scaled by --wait-scale, the run's deadline is not. The definition's
 * wait is the schedule's, capped at the deadline (`$.job.deadlineEpochS`), which poll-job judges by
 * the real clock: a wait that ends at the deadline ends there. Scaling that cap too checked a run
 * with a 10-s deadline 100 ms after its submission, and asked DescribeJobs whenever its job took
 * longer than that (a loaded machine), where a deployment checks only at the deadline.
 */
export function localWaitMs(waitSeconds: number, input: unknown, waitScale: number, nowMs = Date.now()): number {
  if (waitScale === 0) return 0;
  const deadlineEpochS = valueAt(input, '$.job.deadlineEpochS');
  const untilDeadlineMs = typeof deadlineEpochS === 'number' ? deadlineEpochS * 1000 - nowMs : Infinity;
  return waitSeconds * 1000 >= untilDeadlineMs ? Math.max(0, untilDeadlineMs) : waitSeconds * 1000 * waitScale;
}

function valueAt(input: unknown, jsonPath: string): unknown {
  return jsonPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Json)[key] : undefined), input);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
