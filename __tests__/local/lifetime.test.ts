/**
 * One local mode per data dir, and none outliving what started it: a second one on a data dir in
 * use stops at once, naming the first one's PID and --data-dir; a lock left by a dead one is taken
 * over; local mode ends when the process that started it, or the one above its `sh -c`, is killed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { DATA_DIR_LOCK_FILE } from '../../local/data-dir-lock';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';
import { isRunning } from './pids';

const LOCAL_MJS = path.join(__dirname, '..', '..', 'scripts', 'local.mjs');
let local: LocalProcess;

beforeAll(async () => {
  // A lock left behind by a local mode that died (a PID no longer alive).
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-lifetime-'));
  writeFileSync(path.join(dataDir, DATA_DIR_LOCK_FILE), `${spawnSync('true').pid}\n`);
  local = await startLocalProcess('lifetime', undefined, [], dataDir);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('takes over the lock of a local mode that died, writing its own PID', () => {
  expect(readFileSync(path.join(local.dataDir, DATA_DIR_LOCK_FILE), 'utf8')).toBe(`${local.pid}\n`);
});

it("refuses a second local mode on the same data dir at once, naming the first one's PID and --data-dir", async () => {
  const started = Date.now();
  const second = spawn(process.execPath, [LOCAL_MJS, '--json', '--port', '0', '--data-dir', local.dataDir, '--stack-dir', local.stackDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: second.stderr }).on('line', (line) => stderr.push(line));
  const code = await new Promise((resolve) => second.once('exit', resolve));
  const elapsedMs = Date.now() - started;

  const lockFile = path.join(local.dataDir, DATA_DIR_LOCK_FILE);
  expect(code).toBe(1);
  expect(stderr).toEqual([
    `local mode could not start: the data dir ${local.dataDir} is in use by another local mode, PID ${local.pid} (its lock file: ${lockFile}): stop that one (kill ${local.pid}), or give this one another data dir with --data-dir DIR`,
  ]);
  expect(elapsedMs).toBeLessThan(10_000);
  expect(readFileSync(lockFile, 'utf8')).toBe(`${local.pid}\n`);
  expect((await fetch(local.statusPageUrl)).status).toBe(200);
});

describe('ends with the process that started it', () => {
  // `direct`: a process starts local mode; `sh -c`: through a shell, as `npm run local` does, and the one above the shell is killed.
  it.each(['direct', 'sh -c'])('%s', async (how) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-lifetime-parent-'));
    const command = [process.execPath, LOCAL_MJS, '--json', '--port', '0', '--data-dir', dataDir, '--stack-dir', local.stackDir];
    const child = how === 'direct' ? `[${command.map((a) => JSON.stringify(a)).join(',')}]` : JSON.stringify(['sh', '-c', `${command.map((a) => `'${a}'`).join(' ')}; exit $?`]);
    // The parent does nothing but start it, sharing its stdout (where local mode's --json line comes).
    const parent = spawn(process.execPath, ['-e', `const [c, ...a] = ${child}; require('node:child_process').spawn(c, a, { stdio: ['ignore', 'inherit', 'ignore'] }); setInterval(() => {}, 1000);`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const { pid } = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: parent.stdout! }).once('line', resolve))) as { pid: number };
      const shell = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      expect(readFileSync(`/proc/${shell}/cmdline`, 'utf8').split('\0')[0]).toBe(how === 'direct' ? process.execPath : 'sh');

      const killedAt = Date.now();
      parent.kill('SIGKILL');
      await until('local mode to end', () => !isRunning(pid), 10_000);

      expect(Date.now() - killedAt).toBeLessThan(10_000);
      // Closed, not crashed: it gave its data dir back.
      expect(existsSync(path.join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
