/**
 * Step Functions for the local mode: an HTTP server that speaks the operations the pipeline uses
 * (StartExecution, DescribeExecution, SendTaskSuccess) as the SDK v3 sends them, and runs each
 * execution of the one state machine it serves with aws-local-stepfunctions, its Tasks bound to
 * local handlers. A Task that waits for a task token gets one in `$$.Task.Token`; its handler
 * waits on it (`waitForTaskToken`) until SendTaskSuccess settles it or its timeout passes.
 *
 * Protocol (awsJson1_0): `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`, JSON in and out,
 * timestamps as epoch seconds. Errors are status 400 with `{"__type": "<ShapeName>", "message"}`:
 * the SDK reads `__type` first and throws the modelled error class of that name.
 *
 * Executions are journaled in `<dataDir>/sfn/executions.jsonl` (one line per change, the file
 * compacted at start) so that a restart still refuses a name
 * already used (Step Functions keeps closed execution names for 90 days). An execution that was
 * running when the server stopped (or its process died) is not lost: a Step Functions execution
 * does not end because a host does, so `resumeInterrupted()` runs it again from its start, with
 * its input and under its name. That is faithful only because every Task of the pipeline is
 * idempotent (a job recorded as submitted is not submitted again; status writes only move forward).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { appendJsonLine, readJsonLines, rewriteJsonLines } from './jsonl';
import { closeServer, listenLocally } from './listen';
import type { LocalLog, LocalService } from './types';

type Definition = ConstructorParameters<typeof StateMachine>[0];
type LocalHandlers = NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers'];

export interface LocalSfnOptions {
  /** @default - a free port on 127.0.0.1 */
  readonly port?: number;
  /** Executions are journaled in `<dataDir>/sfn/executions.jsonl` and reloaded at start. */
  readonly dataDir: string;
  /** The one state machine served: StartExecution for any other ARN answers StateMachineDoesNotExist. */
  readonly stateMachineArn: string;
  /** The ASL definition, its Resources already resolved to ARNs. */
  readonly definition: Record<string, unknown>;
  /** By Task state NAME; every Task state of the definition (nested ones included) must have one. */
  readonly taskHandlers: Record<string, (input: unknown) => Promise<unknown>>;
  /** Milliseconds, by Wait state name. @default - each Wait waits as the definition says */
  readonly waitTimeOverrides?: Record<string, number>;
  /** Milliseconds, by state name. @default - each Retry waits as the definition says */
  readonly retryIntervalOverrides?: Record<string, number>;
  readonly log: LocalLog;
}

export type LocalExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** One execution as this server knows it (DescribeExecution reports the same). */
export interface LocalExecution {
  readonly name: string;
  readonly executionArn: string;
  status: LocalExecutionStatus;
  /** The input as StartExecution received it (JSON text). */
  readonly input: string;
  /** JSON text; set once SUCCEEDED. */
  output?: string;
  /** The execution's error name (a Fail state's Error, or the uncaught task error's name); set once FAILED. */
  error?: string;
  /** The execution's error message (a Fail state's Cause); set once FAILED. */
  cause?: string;
  readonly startDate: Date;
  stopDate?: Date;
  /** Names of the states its last run entered, in order (a state entered twice appears twice); a resumed execution's start afresh. */
  readonly states: string[];
}

/** Step Functions' error when a task's timeout passes, which a Catch on `States.Timeout` catches. */
export class StatesTimeoutError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'States.Timeout';
  }
}

export interface LocalStepFunctions extends LocalService {
  /**
   * Waits on a task token this server issued: resolves with the output SendTaskSuccess sends,
   * rejects with `States.Timeout` after `timeoutMs` (the token is then spent, as when the Task
   * times out). Finds the token among the string values of `input` (the Task's effective input).
   */
  waitForTaskToken(input: unknown, timeoutMs: number): Promise<unknown>;
  /** The execution of that name, or undefined. */
  execution(name: string): LocalExecution | undefined;
  /** Resolves when no execution is running (including those started while waiting). */
  idle(): Promise<void>;
  /** How many executions this instance started (reloaded and resumed ones are not counted). */
  readonly started: number;
  /**
   * Runs each execution that was RUNNING when the last instance stopped again from its start,
   * with the same input and name; returns how many. Call once the Tasks' handlers can run.
   */
  resumeInterrupted(): number;
}

/** An execution in flight: how to stop it, and when it has ended. */
interface RunControl {
  aborted: boolean;
  abortRun?: () => void;
  done: Promise<void>;
}

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/;
/** Step Functions' execution name rule: 1 to 80 characters, none of whitespace, brackets, wildcards, specials or controls. */
const INVALID_NAME_CHARACTER = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_NAME_LENGTH = 80;
/** Step Functions' limit on an execution's input, and on a task's output. */
const MAX_INPUT_BYTES = 262_144;
/** Step Functions' task tokens are at most 1024 characters. */
const MAX_TOKEN_LENGTH = 1024;
const STORE_VERSION = 1;

/** An error the API answers with: the SDK throws the modelled error class named `type`. */
class SfnApiError extends Error {
  public constructor(
    public readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

interface StoredExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly status: LocalExecutionStatus;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate: string;
  readonly stopDate?: string;
  readonly states: string[];
}

/** Task state names, with those of Parallel branches and Map iterators (local handlers are keyed by name alone). */
function taskStateNames(states: Record<string, Record<string, unknown>>): string[] {
  const names: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') names.push(name);
    const nested = [
      ...((state.Branches as { States?: Record<string, Record<string, unknown>> }[] | undefined) ?? []),
      state.Iterator as { States?: Record<string, Record<string, unknown>> } | undefined,
      state.ItemProcessor as { States?: Record<string, Record<string, unknown>> } | undefined,
    ];
    for (const machine of nested) if (machine?.States) names.push(...taskStateNames(machine.States));
  }
  return names;
}

function validateName(name: unknown): string {
  if (name === undefined || name === null || name === '') {
    // Step Functions would generate a UUID; the pipeline always names its executions, so a
    // missing name here is a bug in the caller worth seeing.
    throw new SfnApiError('ValidationException', 'name is required by the local Step Functions: the pipeline names each execution after its run request');
  }
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || INVALID_NAME_CHARACTER.test(name)) {
    throw new SfnApiError('InvalidName', `Invalid Name: '${String(name)}' (1 to ${MAX_NAME_LENGTH} characters, no whitespace, brackets, wildcards, special or control characters)`);
  }
  return name;
}

function validateInput(input: unknown): string {
  if (input === undefined || input === null) return '{}';
  if (typeof input !== 'string') throw new SfnApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input must be a JSON text');
  if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) {
    throw new SfnApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: ${Buffer.byteLength(input, 'utf8')} bytes exceeds the ${MAX_INPUT_BYTES} bytes allowed`);
  }
  try {
    JSON.parse(input);
  } catch {
    throw new SfnApiError('InvalidExecutionInput', "Invalid State Machine Execution Input: 'input' is not valid JSON");
  }
  return input;
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** The run request id the input carries, for the log line (the name is derived from it). */
function runRequestIdOf(input: string): string | undefined {
  try {
    const id = (JSON.parse(input) as { runRequestID?: unknown }).runRequestID;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

/** Starts the server; rejects if a Task state has no handler or the ARN is not a state machine ARN. */
export async function startLocalStepFunctions(options: LocalSfnOptions): Promise<LocalStepFunctions> {
  const { log, stateMachineArn } = options;
  const arnParts = STATE_MACHINE_ARN.exec(stateMachineArn);
  if (!arnParts) {
    throw new Error(`stateMachineArn must look like arn:aws:states:<region>:<account>:stateMachine:<name> (got '${stateMachineArn}')`);
  }
  const [, partition, region, account, machineName] = arnParts;
  const executionArnPrefix = `arn:${partition}:states:${region}:${account}:execution:${machineName}:`;

  const states = options.definition.States as Record<string, Record<string, unknown>> | undefined;
  if (!states || typeof states !== 'object') throw new Error('definition has no States: pass the ASL definition object');
  const missing = taskStateNames(states).filter((name) => typeof options.taskHandlers[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `every Task state needs a local handler: none for ${missing.map((n) => `'${n}'`).join(', ')} (handlers given: ${Object.keys(options.taskHandlers).map((n) => `'${n}'`).join(', ') || 'none'})`,
    );
  }
  // Validates the definition now rather than at the first StartExecution.
  const machine = new StateMachine(options.definition as unknown as Definition);
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(options.taskHandlers).map(([name, handler]) => [name, async (input: unknown) => (await handler(input)) as never]),
  ) as LocalHandlers;

  // Task tokens: issued when a Task reads `$$.Task.Token`, settled by SendTaskSuccess, spent by
  // their Task's timeout. Kept in memory: an execution resumed after a restart waits afresh, on a new one.
  const tokens = new Map<string, { settled?: unknown; spent?: boolean; wake?: (output: unknown) => void }>();
  const issueToken = () => {
    const token = Buffer.from(randomUUID() + randomUUID()).toString('base64url');
    tokens.set(token, {});
    return token;
  };
  const findToken = (value: unknown): string | undefined => {
    if (typeof value === 'string') return tokens.has(value) ? value : undefined;
    if (value && typeof value === 'object') for (const v of Object.values(value)) { const t = findToken(v); if (t) return t; }
    return undefined;
  };
  const timers = new Set<NodeJS.Timeout>();

  function waitForTaskToken(input: unknown, timeoutMs: number): Promise<unknown> {
    const token = findToken(input);
    if (!token) return Promise.reject(new Error('waitForTaskToken: the Task input holds no token this server issued (pass $$.Task.Token in its Parameters)'));
    const entry = tokens.get(token)!;
    if ('settled' in entry && entry.spent) return Promise.resolve(entry.settled);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        entry.spent = true;
        delete entry.wake;
        reject(new StatesTimeoutError(`the task token was not settled within ${timeoutMs} ms`));
      }, timeoutMs);
      timers.add(timer);
      entry.wake = (output) => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(output);
      };
    });
  }

  function sendTaskSuccess(request: Record<string, unknown>): Record<string, unknown> {
    const { taskToken, output } = request;
    if (typeof taskToken !== 'string' || taskToken.length === 0 || taskToken.length > MAX_TOKEN_LENGTH) throw new SfnApiError('InvalidToken', 'Invalid Token: taskToken must be 1 to 1024 characters');
    if (typeof output !== 'string' || Buffer.byteLength(output, 'utf8') > MAX_INPUT_BYTES) throw new SfnApiError('InvalidOutput', `Invalid Output: output must be a JSON text of at most ${MAX_INPUT_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new SfnApiError('InvalidOutput', "Invalid Output: 'output' is not valid JSON");
    }
    const entry = tokens.get(taskToken);
    if (!entry) throw new SfnApiError('TaskDoesNotExist', 'Task Does Not Exist: no task waits on this token');
    if (entry.spent) throw new SfnApiError('TaskTimedOut', 'Task Timed Out: the task of this token has ended');
    entry.spent = true;
    entry.settled = parsed;
    if (entry.wake) entry.wake(parsed);
    return {};
  }

  const storeDir = join(options.dataDir, 'sfn');
  const storePath = join(storeDir, 'executions.jsonl');
  /** Where an older local mode kept them all in one file (read once, then replaced by the journal). */
  const legacyStorePath = join(storeDir, 'executions.json');
  const executions = new Map<string, LocalExecution>();
  const running = new Map<string, RunControl>();
  let started = 0;
  let closing = false;

  const stored = (e: LocalExecution): StoredExecution => ({ ...e, startDate: e.startDate.toISOString(), stopDate: e.stopDate?.toISOString() });

  /** Appends the execution's state to the journal (one line: a cost that does not grow with the executions kept). */
  function persist(execution: LocalExecution): void {
    appendJsonLine(storePath, stored(execution));
  }

  function finish(execution: LocalExecution, outcome: { output: string } | { error: string; cause: string }): void {
    execution.stopDate = new Date();
    if ('output' in outcome) {
      execution.status = 'SUCCEEDED';
      execution.output = outcome.output;
    } else {
      execution.status = 'FAILED';
      execution.error = outcome.error;
      execution.cause = outcome.cause;
    }
    persist(execution);
    log(execution.status === 'SUCCEEDED' ? 'execution succeeded' : 'execution failed', {
      executionName: execution.name,
      runRequestID: runRequestIdOf(execution.input),
      status: execution.status,
      error: execution.error,
      cause: execution.cause,
      durationMs: execution.stopDate.getTime() - execution.startDate.getTime(),
      lastState: execution.states[execution.states.length - 1],
    });
  }

  mkdirSync(storeDir, { recursive: true });
  let reloaded: StoredExecution[] = [];
  try {
    const changes = readJsonLines<StoredExecution>(storePath);
    if (changes.length === 0 && existsSync(legacyStorePath)) {
      const file = JSON.parse(readFileSync(legacyStorePath, 'utf8')) as { version?: number; executions?: StoredExecution[] };
      if (file.version !== STORE_VERSION || !Array.isArray(file.executions)) throw new Error(`expected {"version": ${STORE_VERSION}, "executions": [...]} in ${legacyStorePath}`);
      reloaded = file.executions;
    } else {
      reloaded = [...new Map(changes.map((e) => [e.name, e])).values()];
    }
  } catch (err) {
    throw new Error(`cannot reload the executions from ${storePath}: ${(err as Error).message} (move the file away to start afresh)`, { cause: err });
  }
  // One line an execution: the journal holds only each one's last state again.
  rewriteJsonLines(storePath, reloaded);
  rmSync(legacyStorePath, { force: true });
  let interrupted: LocalExecution[] = [];
  for (const stored of reloaded) {
    const execution: LocalExecution = { ...stored, startDate: new Date(stored.startDate), stopDate: stored.stopDate ? new Date(stored.stopDate) : undefined };
    executions.set(execution.name, execution);
    if (execution.status === 'RUNNING') interrupted.push(execution);
  }

  /**
   * Runs the execution to its end. Stopped by `close()` (before or during its run), it stays
   * RUNNING, as persisted, for the next instance to resume.
   */
  async function execute(execution: LocalExecution, control: RunControl): Promise<void> {
    if (control.aborted) return;
    let handle: ReturnType<StateMachine['run']>;
    try {
      handle = machine.run(JSON.parse(execution.input), {
        overrides: {
          taskResourceLocalHandlers,
          waitTimeOverrides: options.waitTimeOverrides,
          retryIntervalOverrides: options.retryIntervalOverrides,
        },
        // What Step Functions puts in $$ (aws-local-stepfunctions adds Execution.Input and StartTime).
        context: {
          Execution: { Id: execution.executionArn, Name: execution.name },
          StateMachine: { Id: stateMachineArn, Name: machineName },
          // A new token each time a Task reads it, as each wait gets its own.
          Task: {
            get Token() {
              return issueToken();
            },
          },
        },
      });
    } catch (err) {
      finish(execution, { error: 'States.Runtime', cause: (err as Error).message });
      return;
    }
    control.abortRun = handle.abort;
    // The event log closes on every end (success, failure, abort, timeout).
    const logs = (async () => {
      for await (const event of handle.eventLogs) {
        if (event.type === 'StateEntered') execution.states.push(event.state.name);
      }
    })();
    try {
      const result = await handle.result;
      await logs.catch(() => undefined);
      finish(execution, { output: JSON.stringify(result ?? null) });
    } catch (err) {
      await logs.catch(() => undefined);
      const e = err as Error;
      // Stopped by close(): it stays RUNNING for the next instance.
      if (e?.name === 'ExecutionAbortedError') return;
      if (e?.name === 'ExecutionTimeoutError') {
        finish(execution, { error: 'States.Timeout', cause: "the execution ran longer than the definition's TimeoutSeconds" });
      } else {
        // ExecutionError: the execution's own error (a Fail state's Error and Cause, or the
        // uncaught task error's name and message) is its cause.
        const own = (e?.cause ?? e) as Partial<Error> | undefined;
        finish(execution, { error: own?.name ?? 'Error', cause: own?.message ?? String(own) });
      }
    }
  }

  function startExecution(request: Record<string, unknown>): Record<string, unknown> {
    if (typeof request.stateMachineArn !== 'string' || !/^arn:[^:]+:states:/.test(request.stateMachineArn)) {
      throw new SfnApiError('InvalidArn', `Invalid Arn: '${String(request.stateMachineArn)}'`);
    }
    if (request.stateMachineArn !== stateMachineArn) {
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${request.stateMachineArn}' (this local Step Functions serves only '${stateMachineArn}')`);
    }
    const name = validateName(request.name);
    const input = validateInput(request.input);
    const existing = executions.get(name);
    if (existing) {
      // Standard workflows: the same name and input while the execution runs is the same start.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn: existing.executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
    }
    if (closing) throw new SfnApiError('ServiceUnavailable', 'the local Step Functions is stopping');
    const execution: LocalExecution = { name, executionArn: `${executionArnPrefix}${name}`, status: 'RUNNING', input, startDate: new Date(), states: [] };
    executions.set(name, execution);
    started++;
    persist(execution);
    log('execution started', { executionName: name, runRequestID: runRequestIdOf(input), executionArn: execution.executionArn });
    run(execution);
    return { executionArn: execution.executionArn, startDate: epochSeconds(execution.startDate) };
  }

  /** Runs the execution after the current call returns: StartExecution answers before the execution runs. */
  function run(execution: LocalExecution): void {
    const control: RunControl = { aborted: false, done: Promise.resolve() };
    control.done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => execute(execution, control))
      .catch((err: unknown) => log('execution bookkeeping failed', { executionName: execution.name, error: (err as Error).message }))
      .finally(() => running.delete(execution.name));
    running.set(execution.name, control);
  }

  function describeExecution(request: Record<string, unknown>): Record<string, unknown> {
    const arn = request.executionArn;
    if (typeof arn !== 'string' || !/^arn:[^:]+:states:[^:]*:\d*:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new SfnApiError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
    }
    const execution = arn.startsWith(executionArnPrefix) ? executions.get(arn.slice(executionArnPrefix.length)) : undefined;
    if (!execution) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return {
      executionArn: execution.executionArn,
      stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      stopDate: execution.stopDate ? epochSeconds(execution.stopDate) : undefined,
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output,
      outputDetails: execution.output === undefined ? undefined : { included: true },
      error: execution.error,
      cause: execution.cause,
    };
  }

  const operations: Record<string, (request: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution: startExecution,
    DescribeExecution: describeExecution,
    SendTaskSuccess: sendTaskSuccess,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AWSStepFunctions.') ? operations[target.slice('AWSStepFunctions.'.length)] : undefined;
    try {
      if (req.method !== 'POST') throw new SfnApiError('UnknownOperationException', `expected POST / with X-Amz-Target, got ${req.method} ${req.url}`);
      if (!operation) {
        throw new SfnApiError('UnknownOperationException', `the local Step Functions does not implement '${target || '(no X-Amz-Target)'}': only ${Object.keys(operations).join(', ')}`);
      }
      const body = await readBody(req);
      let request: unknown;
      try {
        request = JSON.parse(body || '{}');
      } catch {
        throw new SfnApiError('SerializationException', 'the request body is not JSON');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new SfnApiError('SerializationException', 'the request body is not a JSON object');
      send(res, 200, operation(request as Record<string, unknown>));
    } catch (err) {
      if (err instanceof SfnApiError) {
        send(res, 400, { __type: err.type, message: err.message });
      } else {
        log('request failed', { target, error: (err as Error).message });
        send(res, 500, { __type: 'InternalFailure', message: 'the local Step Functions failed: see its log' });
      }
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  const url = await listenLocally(server, options.port);
  log('sfn listening', { url, stateMachineArn, executions: executions.size, interrupted: interrupted.length });

  async function idle(): Promise<void> {
    while (running.size > 0) await Promise.allSettled([...running.values()].map((control) => control.done));
  }

  return {
    url,
    execution: (name) => executions.get(name),
    waitForTaskToken,
    idle,
    get started() {
      return started;
    },
    resumeInterrupted() {
      const resumed = interrupted.filter((execution) => execution.status === 'RUNNING' && !running.has(execution.name) && !closing);
      interrupted = [];
      for (const execution of resumed) {
        log('execution resumed', { executionName: execution.name, runRequestID: runRequestIdOf(execution.input), lastStateBefore: execution.states.at(-1) });
        execution.states.length = 0;
        run(execution);
      }
      return resumed.length;
    },
    async close() {
      closing = true;
      // Executions in flight stay RUNNING, as persisted, for the next instance to resume: a Task
      // already running finishes its call, but no further state runs here.
      for (const control of running.values()) {
        control.aborted = true;
        control.abortRun?.();
      }
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await idle();
      await closeServer(server);
    },
  };
}
