/**
 * The helper process that starts local Batch's jobs: what it reports of a process (pid, exit code,
 * signal, a failure to start), where the output goes, and what happens when the helper itself dies.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobLauncher, LaunchedProcess } from '../../local/job-launcher';
import { isAlive } from './pids';

const dir = mkdtempSync(path.join(os.tmpdir(), 'job-launcher-'));
const launchers: JobLauncher[] = [];
const started: number[] = [];

function launcher(): JobLauncher {
  const made = new JobLauncher();
  launchers.push(made);
  return made;
}

const node = (script: string, logFile = path.join(dir, 'out.log')) => ({ executable: process.execPath, args: ['-e', script], env: { GREETING: 'hello' }, logFile });

/** Resolves with what ended the process: its `close` (code, signal) or its `error`. */
function ending(launched: LaunchedProcess): Promise<{ code?: number | null; signal?: NodeJS.Signals | null; error?: Error & { code?: string } }> {
  return new Promise((resolve) => {
    launched.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    launched.once('error', (error: Error & { code?: string }) => resolve({ error }));
  });
}

afterEach(() => {
  launchers.splice(0).forEach((l) => l.close());
  for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a job process started by the launcher', () => {
  it('reports its pid, runs with exactly the environment given, writes stdout and stderr to the log, and reports its exit code', async () => {
    // Prepare
    const logFile = path.join(dir, 'exit.log');

    // Act
    const launched = launcher().run(node('console.log("out " + process.env.GREETING + " " + process.env.HOME); console.error("err"); process.exit(3)', logFile));
    const spawnedPid = once(launched, 'spawn').then(() => launched.pid);
    const end = await ending(launched);

    // Assess
    expect(await spawnedPid).toEqual(expect.any(Number));
    expect(end).toEqual({ code: 3, signal: null });
    expect(launched.exitCode).toBe(3);
    expect(readFileSync(logFile, 'utf8').split('\n').sort()).toEqual(['', 'err', 'out hello undefined']);
  });

  it('leads its own process group, so a signal to the group ends it, and reports the signal', async () => {
    // Prepare
    const launched = launcher().run(node('setTimeout(() => undefined, 60000)'));
    await once(launched, 'spawn');
    started.push(launched.pid!);

    // Act
    process.kill(-launched.pid!, 'SIGTERM');

    // Assess
    expect(await ending(launched)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(launched.signalCode).toBe('SIGTERM');
  });

  it('reports an executable that does not exist as an error with its code, never as started', async () => {
    // Prepare
    const launched = launcher().run({ ...node(''), executable: 'batch-gateway-no-such-executable' });
    const spawned = jest.fn();
    launched.on('spawn', spawned);

    // Act
    const end = await ending(launched);

    // Assess
    expect(end.error?.code).toBe('ENOENT');
    expect(spawned).not.toHaveBeenCalled();
  });

  it('reports a log that cannot be opened as an error', async () => {
    // Act
    const end = await ending(launcher().run(node('', path.join(dir, 'no-such-folder', 'out.log'))));

    // Assess
    expect(end.error?.message).toMatch(/cannot open the job's log .*no-such-folder/);
  });
});

describe('the launcher', () => {
  it('reports a running process ended without exit code when its helper is killed, and starts a new helper for the next job', async () => {
    // Prepare
    const jobs = launcher();
    const running = jobs.run(node('setTimeout(() => undefined, 60000)'));
    await once(running, 'spawn');
    started.push(running.pid!);
    const helperPid = Number(
      readFileSync(`/proc/${running.pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ')[1],
    );

    // Act
    process.kill(helperPid, 'SIGKILL');
    const end = await ending(running);
    const next = await ending(jobs.run(node('process.exit(0)')));

    // Assess
    expect(end).toEqual({ code: null, signal: null });
    expect(next).toEqual({ code: 0, signal: null });
  });

  it('refuses to run once closed', () => {
    // Prepare
    const closed = launcher();
    closed.close();

    // Act, Assess
    expect(() => closed.run(node(''))).toThrow('the job launcher is closed');
  });
});
