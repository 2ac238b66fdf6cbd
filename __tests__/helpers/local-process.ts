/**
 * Local mode as a user runs it: `node scripts/local.mjs` in its own process (the bundles run
 * there as in Node, not in jest's sandbox), on free ports, with a fresh data dir, from a stack
 * synthesized for the test. Tests drive it only through HTTP and WebSocket.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { EnvironmentConfig } from '../../app/config';
import { DEFAULT_ENVIRONMENT, synthesize } from '../../main';
import { devConfig } from './synth';

export interface LocalProcess {
  /** Local mode's own PID, as its --json line gives it. */
  readonly pid: number;
  readonly statusPageUrl: string;
  readonly apiUrl: string;
  readonly runRequestsUrl: string;
  readonly websocketUrl: string;
  readonly identity: string;
  /** Each REST method's throttle (`POST /runrequests` → its rate and burst), null with `--no-api-throttle`. */
  readonly apiThrottle: Record<string, { rateLimit: number; burstLimit: number }> | null;
  /** The run-requests table and the state machine, by the names `npm run reconcile` takes. */
  readonly tableName: string;
  readonly stateMachineArn: string;
  /** The variables that point the AWS SDK (the operator tools) at the local services. */
  readonly operatorEnv: Record<string, string>;
  /** POST /local/idle: resolves when no stream batch, execution or job is in flight. */
  idle(): Promise<Record<string, unknown>>;
  state(): Promise<Record<string, unknown>>;
  replayStream(): Promise<number>;
  /** Lines the process wrote to stderr (its event log). */
  readonly log: string[];
  /** Where it keeps its state. */
  readonly dataDir: string;
  /** The synthesized stack it runs (`--stack-dir`). */
  readonly stackDir: string;
  /** Under the data dir: the artifacts bucket's objects, at their keys, and each job's `<jobId>.log`. */
  readonly artifactsDir: string;
  readonly jobLogsDir: string;
  /** Ends the process with SIGKILL, as a crash would: nothing is shut down, the data dir stays. */
  crash(): Promise<void>;
  /** Stops the process (SIGTERM) and removes its data dir. */
  stop(): Promise<void>;
}

const root = path.join(__dirname, '..', '..');

/** Local mode of the `dev` environment, its configuration changed by `configure`; `dataDir`: an existing one to start on (a restart), else a fresh one. */
export async function startLocalProcess(name: string, configure?: (dev: EnvironmentConfig) => void, extraArgs: string[] = [], dataDir?: string): Promise<LocalProcess> {
  const outdir = path.join(root, '.tmp', `local-${name}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  synthesize({ outdir, config: devConfig(configure) });
  dataDir ??= mkdtempSync(path.join(tmpdir(), `bg-${name}-`));
  const stackDir = path.join(outdir, 'stacks', DEFAULT_ENVIRONMENT);
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(root, 'scripts', 'local.mjs'), '--json', '--port', '0', '--data-dir', dataDir, '--stack-dir', stackDir, ...extraArgs],
    { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  const urls = await new Promise<Record<string, string> & { pid: number; operatorEnv: Record<string, string>; apiThrottle: LocalProcess['apiThrottle'] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local mode did not start in 60 s:\n${log.slice(-20).join('\n')}`)), 60_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local mode exited with ${code}:\n${log.slice(-20).join('\n')}`));
    });
  });
  const control = async (method: string, what: string) => {
    const response = await fetch(`${urls.statusPageUrl}local/${what}`, { method });
    if (!response.ok) throw new Error(`local control ${what}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return {
    pid: urls.pid,
    statusPageUrl: urls.statusPageUrl,
    apiUrl: urls.apiUrl,
    runRequestsUrl: urls.runRequestsUrl,
    websocketUrl: urls.websocketUrl,
    identity: urls.identity,
    apiThrottle: urls.apiThrottle,
    tableName: urls.tableName,
    stateMachineArn: urls.stateMachineArn,
    operatorEnv: urls.operatorEnv,
    idle: () => control('POST', 'idle'),
    state: () => control('GET', 'state.json'),
    replayStream: async () => Number((await control('POST', 'replay-stream')).replayed),
    log,
    dataDir,
    stackDir,
    artifactsDir: urls.artifactsDir,
    jobLogsDir: urls.jobLogsDir,
    crash: () => end('SIGKILL'),
    stop: async () => {
      await end('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
