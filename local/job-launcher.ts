/**
 * Starts local Batch's job processes from a small helper process (`job-launcher-process.cjs`)
 * instead of from local mode itself. Why: Node forks the whole calling process to start one, and
 * forking local mode (a large heap: the Lambda bundles, the interpreter) took about 20 ms of
 * system time per job on the event loop, enough to time out API requests during a burst.
 * Forking the helper costs that once; each job's fork then copies only the helper's small process.
 */
import { ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';

/** What to run: the process leads its own group and writes stdout and stderr to `logFile` (appended). */
export interface LaunchSpec {
  readonly executable: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
}

/**
 * A job's process, as far as the helper reports it: `spawn` (with `pid` set), or `error` (an
 * `Error` with the system `code`, e.g. ENOENT) if it never started; then `close` (exit code,
 * signal), after which `exitCode` or `signalCode` is set.
 */
export class LaunchedProcess extends EventEmitter {
  public pid?: number;
  public exitCode: number | null = null;
  public signalCode: NodeJS.Signals | null = null;
}

type HelperMessage =
  | { readonly type: 'spawn'; readonly id: number; readonly pid: number }
  | { readonly type: 'error'; readonly id: number; readonly code?: string; readonly message: string }
  | { readonly type: 'exit'; readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };

const HELPER = path.join(__dirname, 'job-launcher-process.cjs');

export class JobLauncher {
  private helper?: ChildProcess;
  private readonly processes = new Map<number, LaunchedProcess>();
  private nextId = 1;
  private closed = false;

  /** Starts the process; what happens to it arrives as events on the result. */
  public run(spec: LaunchSpec): LaunchedProcess {
    const launched = new LaunchedProcess();
    const id = this.nextId++;
    this.processes.set(id, launched);
    this.helperProcess().send({ type: 'run', id, executable: spec.executable, args: spec.args, env: spec.env, logFile: spec.logFile });
    return launched;
  }

  /** Ends the helper; processes it started run on (whoever started them stops them by pid). */
  public close(): void {
    this.closed = true;
    if (this.helper?.connected) this.helper.disconnect();
    this.helper = undefined;
  }

  private helperProcess(): ChildProcess {
    if (this.closed) throw new Error('the job launcher is closed');
    if (this.helper) return this.helper;
    const helper = fork(HELPER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [], serialization: 'json' });
    // Neither the helper nor its channel keeps local mode running: its servers do.
    helper.unref();
    helper.channel?.unref();
    helper.on('message', (message: HelperMessage) => this.onMessage(message));
    helper.once('exit', () => this.onHelperExit(helper));
    // A message sent as the helper dies fails here; its exit then fails what it had not started.
    helper.on('error', () => undefined);
    this.helper = helper;
    return helper;
  }

  private onMessage(message: HelperMessage): void {
    const launched = this.processes.get(message.id);
    if (!launched) return;
    if (message.type === 'spawn') {
      launched.pid = message.pid;
      launched.emit('spawn');
    } else if (message.type === 'error') {
      this.processes.delete(message.id);
      launched.emit('error', Object.assign(new Error(message.message), { code: message.code }));
    } else {
      this.processes.delete(message.id);
      launched.exitCode = message.code;
      launched.signalCode = message.signal;
      launched.emit('close', message.code, message.signal);
    }
  }

  /**
   * The helper died (killed from outside): what it started can no longer be followed. A process
   * not started yet fails to start; one running is reported ended without an exit code. The next
   * `run` starts a new helper.
   */
  private onHelperExit(helper: ChildProcess): void {
    if (this.helper === helper) this.helper = undefined;
    if (this.closed) return;
    for (const [id, launched] of this.processes) {
      this.processes.delete(id);
      if (launched.pid === undefined) launched.emit('error', Object.assign(new Error('the job launcher stopped before the process started'), { code: 'ELAUNCHER' }));
      else launched.emit('close', null, null);
    }
  }
}
