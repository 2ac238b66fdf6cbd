/**
 * A local AWS Batch endpoint: the four calls the Lambdas make (SubmitJob, DescribeJobs,
 * TerminateJob, ListJobs), spoken as the AWS SDK v3 sends them (REST-JSON, `POST /v1/<op>`),
 * so the real bundles reach it through `AWS_ENDPOINT_URL_BATCH`. A job runs its definition's
 * command as a local process (no container, no shell), through Batch's statuses and with
 * Batch's failure reasons, and the API is throttled like an account's Batch API.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './config';
import { appendJsonLine, readJsonLines, rewriteJsonLines } from './jsonl';
import { JobLauncher, LaunchedProcess } from './job-launcher';
import { closeServer, listenLocally } from './listen';
import { TokenBucket } from './token-bucket';
import { LocalLog, LocalService } from './types';

/** What local mode needs of a job definition: how to run it, not which image. */
export interface LocalJobDefinition {
  /** The container's command. An argument that is exactly `Ref::name` becomes parameter `name`, as in Batch. */
  readonly command: readonly string[];
  /** Merged under the SubmitJob's `containerOverrides.environment`. */
  readonly environment: Readonly<Record<string, string>>;
  /** Default parameters; the SubmitJob's `parameters` override them. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Attempt duration limit (the SubmitJob's `timeout` overrides it). @default - no limit */
  readonly timeoutSeconds?: number;
}

export interface LocalBatchOptions {
  /** @default - a free port on 127.0.0.1 (also for 0) */
  readonly port?: number;
  /**
   * Jobs persist in `<dataDir>/batch/jobs.jsonl` (every change appended before it is reported),
   * job logs in `<dataDir>/batch/logs/<jobId>.log`.
   */
  readonly dataDir: string;
  /** By job definition name. SubmitJob may name one as `name`, `name:revision` or its ARN. */
  readonly jobDefinitions: Readonly<Record<string, LocalJobDefinition>>;
  /** Calls per second over all operations (a token bucket with as many tokens); 0 disables. @default 50 - AWS Batch's per-account API rate */
  readonly throttlePerSecond?: number;
  /** Time a job spends in each of SUBMITTED, RUNNABLE and STARTING. @default 200 */
  readonly statusDelayMs?: number;
  /**
   * Batch's job state change events: called after each status change (and for the jobs a restart
   * failed) with the job as DescribeJobs describes it but without its tags (AWS's example events
   * carry none, so nothing local may rely on them), the event's detail.
   */
  readonly onStateChange?: (detail: Record<string, unknown>) => void;
  readonly log: LocalLog;
}

export type LocalJobStatus = 'SUBMITTED' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** One attempt: a process that was started (or could not be). Batch's `AttemptDetail`. */
export interface LocalAttempt {
  /** Absent when the process could not be started. */
  readonly startedAt?: number;
  readonly stoppedAt: number;
  /** Absent when the process never ran. */
  readonly exitCode?: number;
  /** The container's reason (why it could not start, or the signal that killed it). */
  readonly reason?: string;
  readonly statusReason?: string;
}

/** A job as local Batch keeps it (and persists it). Times are epoch milliseconds, as in Batch. */
export interface LocalJobRecord {
  readonly jobId: string;
  readonly jobArn: string;
  readonly jobName: string;
  /** As the SubmitJob gave it: a name or an ARN. */
  readonly jobQueue: string;
  /** The definition's ARN (with revision). */
  readonly jobDefinition: string;
  readonly status: LocalJobStatus;
  readonly statusReason?: string;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  /** The definition's parameters overridden by the SubmitJob's. */
  readonly parameters: Readonly<Record<string, string>>;
  /** The definition's environment overridden by `containerOverrides.environment`. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  /** After `Ref::` substitution. */
  readonly command: readonly string[];
  readonly timeoutSeconds?: number;
  readonly attempts: readonly LocalAttempt[];
  readonly logFile: string;
  /** The process of the job's attempt, once started: a restart stops the one a crash left running. */
  readonly pid?: number;
  /** Its process was asked for: a restart must not start it again, even without a pid. */
  readonly launched?: boolean;
}

export interface LocalBatch extends LocalService {
  /** Calls answered 429 by the throttle. */
  readonly throttledCalls: number;
  /** Calls that passed the throttle, by operation (`SubmitJob`, ...). */
  readonly calls: Record<string, number>;
  job(jobId: string): LocalJobRecord | undefined;
  /** The folder of the jobs' output, one `<jobId>.log` each (the job's `logFile`). */
  readonly logDir: string;
  /** Every job, in the order submitted. */
  jobs(): LocalJobRecord[];
  /** Resolves when no job is in flight: none waiting to start, no process running. */
  idle(): Promise<void>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type JobRecord = Mutable<LocalJobRecord> & { attempts: LocalAttempt[] };

const TERMINAL: ReadonlySet<LocalJobStatus> = new Set(['SUCCEEDED', 'FAILED']);
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const JOB_DEFINITION = /^(?:arn:[^:]+:batch:[^:]*:[^:]*:job-definition\/)?([A-Za-z0-9_-]{1,128})(?::(\d+))?$/;
/**
 * Why a job whose process was running ends when local mode restarts: its process is a child of
 * local mode (deployed, the container would have kept running).
 */
export const RESTARTED_REASON = 'local mode restarted while the job was running: its process was stopped';
const TIMEOUT_REASON = 'Job attempt duration exceeded timeout';
const EXITED_REASON = 'Essential container in task exited';
/** ECS waits 30 s between SIGTERM and SIGKILL when it stops a container; locally that would only slow `close()`. */
const KILL_GRACE_MS = 5_000;
/** DescribeJobs takes at most 100 ids; ListJobs returns at most 100 per page. */
const MAX_JOBS_PER_CALL = 100;
const MAX_BODY_BYTES = 1024 * 1024;

/** An error as Batch reports it: the type goes in `x-amzn-errortype` and `__type`, which the SDK reads. */
class BatchApiError extends Error {
  public constructor(
    public readonly type: string,
    public readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'BatchApiError';
  }
}

const clientError = (message: string) => new BatchApiError('ClientException', 400, message);

/** A job's live state: the timer of its next status, its process, and why local Batch stopped it. */
interface Runtime {
  timer?: NodeJS.Timeout;
  child?: LaunchedProcess;
  spawned?: boolean;
  stopReason?: string;
  timeoutTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
}

const arn = (resource: string) => `arn:aws:batch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
const queueName = (queue: string) => queue.replace(/^arn:[^:]+:batch:[^:]*:[^:]*:job-queue\//, '');

function validateOptions(options: LocalBatchOptions): void {
  const { throttlePerSecond, statusDelayMs, port } = options;
  if (throttlePerSecond !== undefined && !(Number.isFinite(throttlePerSecond) && throttlePerSecond >= 0)) {
    throw new Error(`throttlePerSecond must be a number >= 0 (0 disables the throttle), got ${throttlePerSecond}`);
  }
  if (statusDelayMs !== undefined && !(Number.isFinite(statusDelayMs) && statusDelayMs >= 0)) {
    throw new Error(`statusDelayMs must be a number >= 0, got ${statusDelayMs}`);
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new Error(`port must be an integer 0-65535, got ${port}`);
  for (const [name, def] of Object.entries(options.jobDefinitions)) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(name)) throw new Error(`job definition name ${JSON.stringify(name)} is not a valid Batch name (letters, digits, - and _, up to 128)`);
    if (def.timeoutSeconds !== undefined && !(def.timeoutSeconds > 0)) throw new Error(`job definition ${name}: timeoutSeconds must be > 0, got ${def.timeoutSeconds}`);
  }
}

/** Batch substitutes whole arguments only: `Ref::x` becomes parameter x; anything else (or an unknown name) stays. */
function substituteRefs(command: readonly string[], parameters: Readonly<Record<string, string>>): string[] {
  return command.map((arg) => {
    const name = arg.startsWith('Ref::') ? arg.slice('Ref::'.length) : undefined;
    return name !== undefined && Object.prototype.hasOwnProperty.call(parameters, name) ? parameters[name] : arg;
  });
}

/** A process killed by a signal reports 128 + the signal's number, as a container's exit code does. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | undefined {
  if (code !== null) return code;
  const number = signal ? osConstants.signals[signal] : undefined;
  return number === undefined ? undefined : 128 + number;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw clientError(`${field} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw clientError(`${field}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value) throw clientError(`${field} is required`);
  return value;
}

/** Each job as its last journal line has it; a data dir of an older local mode (one `jobs.json`) is read once. */
function loadJobs(journal: string, legacy: string): JobRecord[] {
  try {
    const changes = readJsonLines<JobRecord>(journal);
    if (changes.length === 0 && existsSync(legacy)) {
      const parsed = JSON.parse(readFileSync(legacy, 'utf8')) as { jobs?: JobRecord[] };
      if (!Array.isArray(parsed.jobs)) throw new Error(`${legacy} has no "jobs" array`);
      return parsed.jobs;
    }
    return [...new Map(changes.map((job) => [job.jobId, job])).values()];
  } catch (err) {
    throw new Error(`local Batch cannot read its jobs (${(err as Error).message}): fix or delete ${journal}`, { cause: err });
  }
}

/**
 * Stops the process a crash of local mode left running (it leads its own group, so it outlived
 * its parent), if that pid still runs this job: Linux shows a process's environment, and every
 * job's has its AWS_BATCH_JOB_ID. Elsewhere nothing can be checked and nothing is stopped.
 */
function stopOrphan(job: JobRecord): boolean {
  if (job.pid === undefined) return false;
  try {
    const environment = readFileSync(`/proc/${job.pid}/environ`, 'latin1').split('\0');
    if (!environment.includes(`AWS_BATCH_JOB_ID=${job.jobId}`)) return false;
    signalGroup(job.pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** The process leads its own group (detached), so a shell's children get the signal too, as in a container. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startLocalBatch(options: LocalBatchOptions): Promise<LocalBatch> {
  validateOptions(options);
  const { log, jobDefinitions } = options;
  const statusDelayMs = options.statusDelayMs ?? 200;
  // Batch's API rate is a per-account token bucket; locally one with as many tokens as calls per second.
  const perSecond = options.throttlePerSecond ?? 50;
  const bucket = perSecond === 0 ? undefined : new TokenBucket({ ratePerSecond: perSecond, capacity: perSecond });
  const batchDir = path.join(options.dataDir, 'batch');
  const logDir = path.join(batchDir, 'logs');
  const jobsFile = path.join(batchDir, 'jobs.jsonl');
  mkdirSync(logDir, { recursive: true });

  const jobs = new Map<string, JobRecord>();
  const runtimes = new Map<string, Runtime>();
  const launcher = new JobLauncher();
  const calls: Record<string, number> = {};
  const idleWaiters: Array<() => void> = [];
  let throttledCalls = 0;
  let closed = false;

  // A job in flight when local mode stopped: one still queued goes on (as it would in Batch); one
  // whose process had started lost it with local mode, and fails saying so.
  const restartedAt = Date.now();
  const requeued: JobRecord[] = [];
  let failedByRestart = 0;
  let orphansStopped = 0;
  for (const job of loadJobs(jobsFile, path.join(batchDir, 'jobs.json'))) {
    jobs.set(job.jobId, job);
    if (TERMINAL.has(job.status)) continue;
    if (job.pid === undefined && !job.launched) {
      requeued.push(job);
      continue;
    }
    if (stopOrphan(job)) orphansStopped += 1;
    job.attempts.push({ startedAt: job.startedAt, stoppedAt: restartedAt, reason: RESTARTED_REASON, statusReason: RESTARTED_REASON });
    Object.assign(job, { status: 'FAILED', statusReason: RESTARTED_REASON, stoppedAt: restartedAt });
    failedByRestart += 1;
  }
  // One line a job: the journal holds only each job's last state again.
  rewriteJsonLines(jobsFile, [...jobs.values()]);
  for (const job of jobs.values()) if (job.stoppedAt === restartedAt) options.onStateChange?.(stateChangeDetail(job));
  rmSync(path.join(batchDir, 'jobs.json'), { force: true });

  /** Appends the job's state to the journal: on disk before any caller is told. */
  function record(job: JobRecord): void {
    appendJsonLine(jobsFile, job);
  }

  function setStatus(job: JobRecord, status: LocalJobStatus, statusReason?: string): void {
    job.status = status;
    if (statusReason !== undefined) job.statusReason = statusReason;
    log('job status changed', { jobId: job.jobId, jobName: job.jobName, status, statusReason });
    record(job);
    options.onStateChange?.(stateChangeDetail(job));
  }

  function finish(job: JobRecord, status: 'SUCCEEDED' | 'FAILED', statusReason: string | undefined, attempt?: LocalAttempt): void {
    const rt = runtimes.get(job.jobId);
    if (rt) {
      clearTimeout(rt.timer);
      clearTimeout(rt.timeoutTimer);
      clearTimeout(rt.killTimer);
    }
    runtimes.delete(job.jobId);
    if (attempt) job.attempts.push(attempt);
    job.stoppedAt = attempt?.stoppedAt ?? Date.now();
    setStatus(job, status, statusReason);
    if (runtimes.size === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  function killGroup(child: LaunchedProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child.pid, signal);
  }

  /**
   * SIGTERM to the process's group, SIGKILL after the grace period: at once, or, for a process
   * asked for that has not reported its start yet, as soon as it starts.
   */
  function terminate(rt: Runtime, child: LaunchedProcess): void {
    const kill = () => {
      killGroup(child, 'SIGTERM');
      clearTimeout(rt.killTimer);
      rt.killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    };
    if (child.pid !== undefined) kill();
    else child.once('spawn', kill);
  }

  /** Stops a job's process; the job finishes (FAILED, with `reason`) when the process has exited. */
  function stop(job: JobRecord, rt: Runtime, reason: string): void {
    if (!rt.child || rt.stopReason !== undefined) return;
    rt.stopReason = reason;
    terminate(rt, rt.child);
    log('job stopping', { jobId: job.jobId, jobName: job.jobName, reason });
  }

  function launch(job: JobRecord, rt: Runtime): void {
    const [executable, ...args] = job.command;
    const env: Record<string, string> = {};
    for (const key of ['PATH', 'HOME']) if (process.env[key] !== undefined) env[key] = process.env[key]!;
    Object.assign(env, job.environment, { AWS_BATCH_JOB_ID: job.jobId, AWS_BATCH_JQ_NAME: queueName(job.jobQueue), AWS_BATCH_JOB_ATTEMPT: '1' });

    const cannotStart = (err: Error & { code?: string }) => {
      const why = err.code === 'ENOENT' ? 'executable file not found' : err.code === 'EACCES' ? 'permission denied' : err.message;
      const reason = executable ? `CannotStartContainerError: cannot run ${JSON.stringify(executable)}: ${why}` : `CannotStartContainerError: ${why}`;
      log('job failed to start', { jobId: job.jobId, jobName: job.jobName, reason });
      finish(job, 'FAILED', 'Task failed to start', { stoppedAt: Date.now(), reason, statusReason: 'Task failed to start' });
    };

    if (!executable) {
      // A definition may rely on its image's entrypoint; local mode has no image, only the command.
      cannotStart(new Error('the job definition has no command (local mode runs the command, not an image)'));
      return;
    }
    // On disk before the process can exist: a restart never starts it twice.
    job.launched = true;
    record(job);
    const child = launcher.run({ executable, args, env, logFile: job.logFile });
    rt.child = child;

    child.once('spawn', () => {
      rt.spawned = true;
      job.pid = child.pid;
      // Stopped before it started (local mode closing, a TerminateJob): it never counts as RUNNING.
      if (closed || rt.stopReason !== undefined) {
        record(job);
        return;
      }
      job.startedAt = Date.now();
      setStatus(job, 'RUNNING');
      if (job.timeoutSeconds !== undefined) rt.timeoutTimer = setTimeout(() => stop(job, rt, TIMEOUT_REASON), job.timeoutSeconds * 1000);
    });
    child.on('error', (err) => {
      if (!rt.spawned) {
        if (!closed) cannotStart(err);
      } else {
        log('job process error', { jobId: job.jobId, jobName: job.jobName, error: err.message });
      }
    });
    // The process wrote its output to the log itself: the log is complete when it has exited.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (!rt.spawned || closed) return;
      const exitCode = exitCodeOf(code, signal);
      const stoppedAt = Date.now();
      log('job exited', { jobId: job.jobId, jobName: job.jobName, exitCode, signal: signal ?? undefined });
      const killedBy = signal && rt.stopReason === undefined ? `process killed by ${signal}` : undefined;
      const statusReason = rt.stopReason ?? (exitCode === 0 ? undefined : EXITED_REASON);
      const attempt: LocalAttempt = { startedAt: job.startedAt, stoppedAt, exitCode, reason: killedBy, statusReason };
      finish(job, exitCode === 0 && rt.stopReason === undefined ? 'SUCCEEDED' : 'FAILED', statusReason, attempt);
    });
  }

  /** SUBMITTED → RUNNABLE → STARTING, `statusDelayMs` each, then the process. */
  function advance(job: JobRecord): void {
    const rt = runtimes.get(job.jobId);
    if (!rt) return;
    rt.timer = setTimeout(() => {
      rt.timer = undefined;
      if (job.status === 'SUBMITTED') {
        setStatus(job, 'RUNNABLE');
        advance(job);
      } else if (job.status === 'RUNNABLE') {
        setStatus(job, 'STARTING');
        advance(job);
      } else if (job.status === 'STARTING') {
        launch(job, rt);
      }
    }, statusDelayMs);
  }

  // ---- operations ------------------------------------------------------------------------

  function submitJob(body: Record<string, unknown>): unknown {
    const jobName = requiredString(body.jobName, 'jobName');
    if (!JOB_NAME.test(jobName)) throw clientError(`jobName ${JSON.stringify(jobName)} is not valid: up to 128 letters, digits, - and _, starting with a letter or digit`);
    const jobQueue = requiredString(body.jobQueue, 'jobQueue');
    const definitionRef = requiredString(body.jobDefinition, 'jobDefinition');
    const match = JOB_DEFINITION.exec(definitionRef);
    const definition = match ? jobDefinitions[match[1]] : undefined;
    if (!match || !definition) {
      throw clientError(`Job definition ${definitionRef} does not exist (local mode knows: ${Object.keys(jobDefinitions).join(', ') || 'none'})`);
    }

    const overrides = (body.containerOverrides ?? {}) as { environment?: unknown; command?: unknown };
    const environment: Record<string, string> = { ...definition.environment };
    if (overrides.environment !== undefined) {
      if (!Array.isArray(overrides.environment)) throw clientError('containerOverrides.environment must be a list of {name, value}');
      for (const entry of overrides.environment as Array<{ name?: unknown; value?: unknown }>) {
        const name = requiredString(entry?.name, 'containerOverrides.environment[].name');
        if (name.startsWith('AWS_BATCH')) throw clientError(`containerOverrides.environment: ${name}: names starting with AWS_BATCH are reserved`);
        environment[name] = typeof entry.value === 'string' ? entry.value : '';
      }
    }
    let command = definition.command;
    if (overrides.command !== undefined) {
      if (!Array.isArray(overrides.command) || !overrides.command.length || overrides.command.some((a) => typeof a !== 'string')) {
        throw clientError('containerOverrides.command must be a non-empty list of strings');
      }
      command = overrides.command as string[];
    }
    const timeout = (body.timeout as { attemptDurationSeconds?: unknown } | undefined)?.attemptDurationSeconds;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) throw clientError(`timeout.attemptDurationSeconds must be > 0, got ${String(timeout)}`);

    const parameters = { ...definition.parameters, ...stringMap(body.parameters, 'parameters') };
    const jobId = randomUUID();
    const job: JobRecord = {
      jobId,
      jobArn: arn(`job/${jobId}`),
      jobName,
      jobQueue,
      jobDefinition: arn(`job-definition/${match[1]}:${match[2] ?? '1'}`),
      status: 'SUBMITTED',
      createdAt: Date.now(),
      parameters,
      environment,
      tags: stringMap(body.tags, 'tags'),
      command: substituteRefs(command, parameters),
      timeoutSeconds: typeof timeout === 'number' ? timeout : definition.timeoutSeconds,
      attempts: [],
      logFile: path.join(logDir, `${jobId}.log`),
    };
    jobs.set(jobId, job);
    runtimes.set(jobId, {});
    log('job submitted', { jobId, jobName, jobQueue, jobDefinition: job.jobDefinition, parameters });
    record(job);
    advance(job);
    return { jobArn: job.jobArn, jobName, jobId };
  }

  function stateChangeDetail(job: JobRecord): Record<string, unknown> {
    const { tags: _tags, ...detail } = jobDetail(job) as Record<string, unknown>;
    return detail;
  }

  function jobDetail(job: JobRecord): unknown {
    const last = job.attempts[job.attempts.length - 1];
    return {
      jobId: job.jobId,
      jobName: job.jobName,
      jobArn: job.jobArn,
      jobQueue: job.jobQueue.startsWith('arn:') ? job.jobQueue : arn(`job-queue/${job.jobQueue}`),
      jobDefinition: job.jobDefinition,
      status: job.status,
      statusReason: job.statusReason,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      stoppedAt: job.stoppedAt,
      attempts: job.attempts.map((a) => ({
        // logStreamName would name a CloudWatch stream: locally, the job's log file.
        container: { exitCode: a.exitCode, reason: a.reason, logStreamName: job.logFile },
        startedAt: a.startedAt,
        stoppedAt: a.stoppedAt,
        statusReason: a.statusReason,
      })),
      container: {
        command: job.command,
        environment: Object.entries(job.environment).map(([name, value]) => ({ name, value })),
        exitCode: last?.exitCode,
        reason: last?.reason,
        logStreamName: job.logFile,
      },
      parameters: job.parameters,
      tags: job.tags,
      timeout: job.timeoutSeconds !== undefined ? { attemptDurationSeconds: job.timeoutSeconds } : undefined,
      dependsOn: [],
    };
  }

  function describeJobs(body: Record<string, unknown>): unknown {
    const ids = body.jobs;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw clientError('jobs must be a list of job ids');
    if (ids.length > MAX_JOBS_PER_CALL) throw clientError(`jobs: at most ${MAX_JOBS_PER_CALL} ids per call, got ${ids.length}`);
    // Unknown ids are left out, as Batch does.
    return { jobs: (ids as string[]).flatMap((id) => (jobs.has(id) ? [jobDetail(jobs.get(id)!)] : [])) };
  }

  function terminateJob(body: Record<string, unknown>): unknown {
    const jobId = requiredString(body.jobId, 'jobId');
    const reason = requiredString(body.reason, 'reason');
    const job = jobs.get(jobId);
    if (!job) throw clientError(`Job ${jobId} not found`);
    const rt = runtimes.get(jobId);
    if (!rt) return {}; // already finished: nothing to do, as in Batch
    log('job terminate requested', { jobId, jobName: job.jobName, reason });
    // A process asked for is stopped (once it has started); a job still queued just ends.
    if (rt.child) stop(job, rt, reason);
    else finish(job, 'FAILED', reason);
    return {};
  }

  function listJobs(body: Record<string, unknown>): unknown {
    const jobQueue = requiredString(body.jobQueue, 'jobQueue (local mode lists by queue only)');
    const filters = (body.filters ?? []) as Array<{ name?: unknown; values?: unknown }>;
    if (!Array.isArray(filters) || filters.length > 1) throw clientError('filters: at most one filter');
    let matches = (job: JobRecord) => job.status === ((body.jobStatus as string | undefined) ?? 'RUNNING');
    if (filters.length === 1) {
      const [{ name, values }] = filters;
      if (name !== 'JOB_NAME') throw clientError(`filters: local mode supports JOB_NAME only, got ${String(name)}`);
      if (!Array.isArray(values) || values.length !== 1 || typeof values[0] !== 'string') throw clientError('filters: JOB_NAME takes one value');
      // Case-insensitive, a trailing * matches a prefix; with a filter, jobStatus is ignored (Batch's rules).
      const value = values[0].toLowerCase();
      matches = value.endsWith('*') ? (job) => job.jobName.toLowerCase().startsWith(value.slice(0, -1)) : (job) => job.jobName.toLowerCase() === value;
    }
    const queue = queueName(jobQueue);
    const all = [...jobs.values()].filter((job) => queueName(job.jobQueue) === queue && matches(job)).sort((a, b) => b.createdAt - a.createdAt);
    const offset = typeof body.nextToken === 'string' ? Number(Buffer.from(body.nextToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw clientError('nextToken is not valid');
    const maxResults = typeof body.maxResults === 'number' ? Math.min(Math.max(1, body.maxResults), MAX_JOBS_PER_CALL) : MAX_JOBS_PER_CALL;
    const page = all.slice(offset, offset + maxResults);
    const last = (job: JobRecord) => job.attempts[job.attempts.length - 1];
    return {
      jobSummaryList: page.map((job) => ({
        jobId: job.jobId,
        jobName: job.jobName,
        jobArn: job.jobArn,
        jobDefinition: job.jobDefinition,
        createdAt: job.createdAt,
        status: job.status,
        statusReason: job.statusReason,
        startedAt: job.startedAt,
        stoppedAt: job.stoppedAt,
        container: last(job) ? { exitCode: last(job)?.exitCode, reason: last(job)?.reason } : undefined,
      })),
      nextToken: offset + maxResults < all.length ? Buffer.from(String(offset + maxResults)).toString('base64url') : undefined,
    };
  }

  const operations: Record<string, [string, (body: Record<string, unknown>) => unknown]> = {
    '/v1/submitjob': ['SubmitJob', submitJob],
    '/v1/describejobs': ['DescribeJobs', describeJobs],
    '/v1/terminatejob': ['TerminateJob', terminateJob],
    '/v1/listjobs': ['ListJobs', listJobs],
  };

  // ---- HTTP -----------------------------------------------------------------------------

  function send(res: http.ServerResponse, status: number, body: unknown, errorType?: string): void {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('error', reject);
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) return reject(clientError(`request body over ${MAX_BODY_BYTES} bytes`));
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const parsed: unknown = text ? JSON.parse(text) : {};
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
          resolve(parsed as Record<string, unknown>);
        } catch {
          reject(clientError('request body is not a JSON object'));
        }
      });
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (bucket && !bucket.take()) {
      throttledCalls += 1;
      req.resume();
      // What Batch answers over its rate; the SDK's retry strategy treats 429 (and this name) as throttling.
      send(res, 429, { __type: 'TooManyRequestsException', message: 'Too Many Requests' }, 'TooManyRequestsException');
      return;
    }
    const route = req.method === 'POST' ? operations[(req.url ?? '').split('?')[0].toLowerCase()] : undefined;
    if (!route) {
      req.resume();
      send(res, 404, { __type: 'UnknownOperationException', message: `local Batch does not implement ${req.method} ${req.url}` }, 'UnknownOperationException');
      return;
    }
    const [operation, run] = route;
    calls[operation] = (calls[operation] ?? 0) + 1;
    try {
      send(res, 200, run(await readBody(req)));
    } catch (err) {
      if (err instanceof BatchApiError) {
        send(res, err.statusCode, { __type: err.type, message: err.message }, err.type);
      } else {
        log('request failed', { operation, error: (err as Error).message });
        send(res, 500, { __type: 'ServerException', message: 'local Batch failed to handle the request' }, 'ServerException');
      }
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  const url = await listenLocally(server, options.port);

  // If the host process exits without close() (a crash), job processes in their own groups would outlive it.
  const onExit = () => {
    for (const rt of runtimes.values()) if (rt.child) killGroup(rt.child, 'SIGKILL');
  };
  process.once('exit', onExit);
  for (const job of requeued) {
    runtimes.set(job.jobId, {});
    advance(job);
  }
  log('batch started', { url, jobs: jobs.size, requeued: requeued.length, failedByRestart, orphansStopped });

  return {
    url,
    get throttledCalls() {
      return throttledCalls;
    },
    get calls() {
      return { ...calls };
    },
    job: (jobId) => (jobs.has(jobId) ? structuredClone(jobs.get(jobId)!) : undefined),
    logDir,
    jobs: () => [...jobs.values()].map((job) => structuredClone(job)),
    idle: () => (runtimes.size === 0 || closed ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    async close() {
      if (closed) return;
      closed = true;
      process.off('exit', onExit);
      // In-flight jobs stay as they are in the journal: the next start resumes or fails them.
      const exits: Array<Promise<unknown>> = [];
      for (const rt of runtimes.values()) {
        clearTimeout(rt.timer);
        clearTimeout(rt.timeoutTimer);
        const child = rt.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) continue;
        exits.push(new Promise((resolve) => child.once('close', resolve).once('error', resolve)));
        terminate(rt, child);
      }
      await Promise.all(exits);
      launcher.close();
      for (const rt of runtimes.values()) clearTimeout(rt.killTimer);
      idleWaiters.splice(0).forEach((resolve) => resolve());
      await closeServer(server);
      log('batch stopped', { url });
    },
  };
}
