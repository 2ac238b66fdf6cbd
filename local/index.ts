/**
 * Local mode: the default stack's pipeline on one machine, from the artifacts a deployment uses
 * (the synthesized Terraform JSON and the built Lambda bundles). REST API, stream, Step
 * Functions, Batch, WebSocket and S3 are local servers; the real bundles reach them through the
 * SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables. Nothing here re-implements a handler.
 */
import { mkdirSync, appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { AttributeValue } from '@aws-sdk/client-dynamodb';
import { startLocalBatch } from './batch';
import { CdkTfJson, functionReferencedBy, functionsOf, jobDefinitionsOf, LOCAL_ACCOUNT, matchesFilters, readSynthesized, referenceResolver, streamMappingsOf, tablesOf } from './config';
import { startLocalDynamo } from './dynamodb';
import { bundleInvoker } from './lambdas';
import { restApiFromConfig } from './rest-config';
import { startLocalRestApi } from './rest';
import { startLocalS3 } from './s3';
import { startLocalStepFunctions } from './sfn';
import { consoleLog, LambdaHandler, LocalLog, LocalService } from './types';
import { startLocalWebSocket } from './websocket';
import { startFront } from './front';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

export interface LocalModeOptions {
  /** REST API port (the status page is served there too). 0 = a free port. @default 3000 */
  readonly port?: number;
  /** Where every service keeps its state. */
  readonly dataDir: string;
  /** The synthesized stack. @default cdktf.out/stacks/batch-gateway under `root` */
  readonly stackDir?: string;
  /** The project root (dist/bundles lives there). */
  readonly root: string;
  /** Scales the state machine's waits between polls (1 = as deployed, 0 = none). @default 1 */
  readonly waitScale?: number;
  /** Batch API calls per second before throttling, as the real service. 0 = off. @default 50 */
  readonly batchThrottlePerSecond?: number;
  /** Time a local job spends in each status before it runs. @default 200 */
  readonly batchStatusDelayMs?: number;
  /** @default one JSON line per event on stderr */
  readonly log?: LocalLog;
  /** Lambda log level (Powertools). @default 'WARN' */
  readonly lambdaLogLevel?: string;
}

export interface LocalMode {
  /** Base URL of the REST stage, e.g. http://127.0.0.1:3000/v1 */
  readonly apiUrl: string;
  readonly runRequestsUrl: string;
  readonly websocketUrl: string;
  readonly statusPageUrl: string;
  readonly stateMachineArn: string;
  /** The identity every local caller has (local mode takes no credentials). */
  readonly identity: string;
  readonly services: { readonly batch: Awaited<ReturnType<typeof startLocalBatch>>; readonly sfn: Awaited<ReturnType<typeof startLocalStepFunctions>> };
  /** Resolves when no stream batch, execution or job is in flight. */
  idle(): Promise<void>;
  /** Delivers the stream's last batch again (a replayed batch must start nothing twice). */
  replayStream(): Promise<number>;
  close(): Promise<void>;
}

export const LOCAL_IDENTITY = `arn:aws:iam::${LOCAL_ACCOUNT}:user/local`;

export async function startLocalMode(options: LocalModeOptions): Promise<LocalMode> {
  const log = options.log ?? consoleLog('local');
  const stackDir = options.stackDir ?? path.join(options.root, 'cdktf.out', 'stacks', 'batch-gateway');
  const config = readSynthesized(stackDir);
  mkdirSync(options.dataDir, { recursive: true });
  const services: LocalService[] = [];
  const closeAll = async () => {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
  };
  try {
    // Data stores and Batch first: the bundles' clients point at them.
    const dynamo = await startLocalDynamo({ dataDir: options.dataDir, log });
    services.push(dynamo);
    const tables = tablesOf(config);
    await dynamo.ensureTables(tables.map((t) => ({ name: t.name, hashKey: t.hashKey, indexes: t.indexes })));
    const s3 = await startLocalS3({ dataDir: options.dataDir, log });
    services.push(s3);
    const batch = await startLocalBatch({
      dataDir: options.dataDir,
      jobDefinitions: jobDefinitionsOf(config),
      throttlePerSecond: options.batchThrottlePerSecond ?? 50,
      statusDelayMs: options.batchStatusDelayMs,
      log,
    });
    services.push(batch);

    const stage = Object.values(config.resource.aws_apigatewayv2_stage ?? {})[0]?.name ?? 'v1';
    const invokeBundle = bundleInvoker(options.root);
    const invoke = (fn: { bundle: string; functionName: string; timeoutSeconds: number }): LambdaHandler => invokeBundle(fn.bundle, fn.functionName, fn.timeoutSeconds);
    const routeFunction = (routeKey: string) => {
      const route = Object.values(config.resource.aws_apigatewayv2_route ?? {}).find((r) => r.route_key === routeKey);
      const integrationId = /integrations\/\$\{aws_apigatewayv2_integration\.([^.}]+)\.id\}/.exec(route?.target ?? '')?.[1];
      const integration = integrationId ? config.resource.aws_apigatewayv2_integration?.[integrationId] : undefined;
      const fn = integration ? functionReferencedBy(config, integration.integration_uri) : undefined;
      if (!fn) throw new Error(`local mode: no function serves the WebSocket route ${routeKey}`);
      return fn;
    };
    const ws = await startLocalWebSocket({
      stage,
      identity: { userArn: LOCAL_IDENTITY, sourceIp: '127.0.0.1' },
      onConnect: (event) => invoke(routeFunction('$connect'))(event),
      onDisconnect: (event) => invoke(routeFunction('$disconnect'))(event),
      log,
    });
    services.push(ws);

    // The state machine: its definition as synthesized, every Task bound to the bundle its Resource names.
    const [machineId, machine] = Object.entries(config.resource.aws_sfn_state_machine ?? {})[0] ?? [];
    if (!machine) throw new Error('local mode: the stack has no state machine');
    const resolve = referenceResolver(config);
    const stateMachineArn = resolve(`\${aws_sfn_state_machine.${machineId}.arn}`);
    const definition = JSON.parse(resolve(machine.definition)) as { States: Record<string, Json> };
    const functions = functionsOf(config);
    const functionByArn = new Map(functions.map((f) => [resolve(`\${aws_lambda_function.${f.id}.arn}`), f]));
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
    const snsDir = path.join(options.dataDir, 'sns');
    mkdirSync(snsDir, { recursive: true });
    const taskHandlers = Object.fromEntries(
      Object.entries(definition.States)
        .filter(([, s]) => s.Type === 'Task')
        .map(([name, s]) => {
          let run: (input: unknown) => Promise<unknown>;
          if (s.Resource === 'arn:aws:states:::sns:publish') {
            run = async (input) => {
              const message = input as { TopicArn: string; Message: string };
              appendFileSync(path.join(snsDir, 'published.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`);
              log('sns published', { topicArn: message.TopicArn, message: message.Message });
              return { MessageId: `local-${Date.now()}` };
            };
          } else {
            const fn = functionByArn.get(s.Resource);
            if (!fn) throw new Error(`local mode: Task '${name}' invokes ${s.Resource}, which is not a function of the stack`);
            run = invoke(fn);
          }
          const waitPath = waitBefore.get(name);
          return [
            name,
            async (input: unknown) => {
              // The Wait before this Task is skipped by the interpreter and slept here, scaled.
              if (waitPath && waitScale > 0) await sleep(Number(valueAt(input, waitPath) ?? 0) * 1000 * waitScale);
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
    const mappings = streamMappingsOf(config);
    const stream = new LocalStream(config, mappings, (fnId) => invoke(functions.find((f) => f.id === fnId)!), options.dataDir, log);
    const rest = await startLocalRestApi({
      port: 0,
      api: restApiFromConfig(config, resolve),
      dynamodbEndpoint: dynamo.endpoint,
      identity: { userArn: LOCAL_IDENTITY, caller: LOCAL_IDENTITY, sourceIp: '127.0.0.1' },
      onItemWritten: (write) => stream.insert(write.tableName, write.item),
      log,
    });
    services.push(rest);
    const apiStage = Object.values(config.resource.aws_api_gateway_stage ?? {})[0]?.stage_name ?? 'v1';
    const collection = Object.values(config.resource.aws_api_gateway_resource ?? {}).find((r) => !String(r.path_part).startsWith('{'))?.path_part ?? 'runrequests';
    const idle = async () => {
      for (let i = 0; i < 1000; i++) {
        await stream.idle();
        await sfn.idle();
        await batch.idle();
        if (stream.pending === 0) return;
      }
    };
    const front = await startFront({
      port: options.port ?? 3000,
      restUrl: rest.url,
      statusPageFile: path.join(options.root, 'local', 'status-page.html'),
      pageConfig: () => ({ runRequestsUrl: `${apiStage}/${collection}`, websocketUrl: ws.websocketUrl }),
      controls: {
        state: () => ({ executionsStarted: sfn.started, batchCalls: batch.calls, batchThrottledCalls: batch.throttledCalls, streamPending: stream.pending }),
        idle: () => idle(),
        replayStream: () => stream.replayLastBatch(),
      },
      log,
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
      identity: LOCAL_IDENTITY,
      services: { batch, sfn },
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

/** Wait states with SecondsPath, by the Task they lead to: the Task sleeps their time, scaled. */
function waitsBeforeTasks(states: Record<string, Json>): Map<string, string> {
  const result = new Map<string, string>();
  for (const state of Object.values(states)) {
    if (state.Type === 'Wait' && state.SecondsPath && states[state.Next]?.Type === 'Task') result.set(state.Next, state.SecondsPath);
  }
  return result;
}

function valueAt(input: unknown, jsonPath: string): unknown {
  return jsonPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Json)[key] : undefined), input);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A DynamoDB stream for the local table: INSERT records in the real event format, filtered and
 * batched by the event source mapping's settings, handed to its function; failed records
 * (batchItemFailures) retried up to the mapping's limit, then written to a dead-letter file.
 */
class LocalStream {
  private sequence = 0;
  private readonly queues = new Map<string, Json[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private inFlight = new Set<Promise<void>>();
  private stopped = false;
  private lastBatch?: { records: Json[]; mapping: ReturnType<typeof streamMappingsOf>[number] };

  constructor(
    private readonly config: CdkTfJson,
    private readonly mappings: ReturnType<typeof streamMappingsOf>,
    private readonly handlerOf: (functionId: string) => LambdaHandler,
    private readonly dataDir: string,
    private readonly log: LocalLog,
  ) {}

  get pending(): number {
    return [...this.queues.values()].reduce((n, q) => n + q.length, 0) + this.inFlight.size;
  }

  insert(tableName: string, item: Record<string, AttributeValue>): void {
    const table = tablesOf(this.config).find((t) => t.name === tableName);
    if (!table) return;
    const record = {
      eventID: `local-${++this.sequence}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { [table.hashKey]: item[table.hashKey] },
        NewImage: item,
        SequenceNumber: String(this.sequence).padStart(21, '0'),
        SizeBytes: JSON.stringify(item).length,
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: `arn:aws:dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/${table.name}/stream/local`,
    };
    for (const mapping of this.mappings.filter((m) => m.tableId === table.id)) {
      if (!matchesFilters(record, mapping.filters)) continue;
      const key = `${mapping.tableId}/${mapping.functionId}`;
      const queue = this.queues.get(key) ?? [];
      queue.push(record);
      this.queues.set(key, queue);
      if (queue.length >= mapping.batchSize) this.flush(key, mapping);
      else if (!this.timers.has(key)) this.timers.set(key, setTimeout(() => this.flush(key, mapping), mapping.batchingWindowSeconds * 1000));
    }
  }

  private flush(key: string, mapping: ReturnType<typeof streamMappingsOf>[number]): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const records = (this.queues.get(key) ?? []).splice(0, mapping.batchSize);
    if (records.length === 0 || this.stopped) return;
    this.lastBatch = { records, mapping };
    const work = this.deliver(records, mapping, 0).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    if ((this.queues.get(key) ?? []).length > 0) this.flush(key, mapping);
  }

  private async deliver(records: Json[], mapping: ReturnType<typeof streamMappingsOf>[number], attempt: number): Promise<void> {
    let failed: Json[];
    try {
      const response = (await this.handlerOf(mapping.functionId)({ Records: records })) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
      const ids = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      // As Lambda does: retry from the first failed record on.
      const first = records.findIndex((r) => ids.has(r.dynamodb.SequenceNumber));
      failed = first === -1 ? [] : records.slice(first);
    } catch (err) {
      this.log('stream batch failed', { records: records.length, error: (err as Error).name });
      failed = records;
    }
    for (const r of records.filter((r) => !failed.includes(r))) this.log('stream record delivered', { runRequestID: r.dynamodb.Keys.runRequestID?.S });
    if (failed.length === 0 || this.stopped) return;
    if (mapping.maximumRetryAttempts >= 0 && attempt >= mapping.maximumRetryAttempts) {
      const deadLetters = path.join(this.dataDir, 'stream');
      mkdirSync(deadLetters, { recursive: true });
      appendFileSync(path.join(deadLetters, 'dead-letters.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), records: failed })}\n`);
      this.log('stream records dead-lettered', { records: failed.length });
      return;
    }
    await sleep(Math.min(30000, 500 * 2 ** attempt));
    await this.deliver(failed, mapping, attempt + 1);
  }

  /** Delivers the last batch again, as Lambda does after a partial failure or a retried batch. */
  async replayLastBatch(): Promise<number> {
    if (!this.lastBatch) return 0;
    await this.deliver(this.lastBatch.records, this.lastBatch.mapping, 0);
    return this.lastBatch.records.length;
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || [...this.timers.values()].length > 0) {
      await Promise.all([...this.inFlight]);
      if (this.inFlight.size === 0 && this.timers.size > 0) await sleep(50);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
