/**
 * Local mode ends with the process that started it. `npm run local` starts it through `sh -c`,
 * and stopping npm by its PID stops neither (npm ends its shell or nothing, never local mode):
 * local mode went on holding its port and its data dir. So it watches its parent and, while that
 * is a `sh -c`, the parent's parent too (npm, yarn, make...), and is told when one of them ends.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** How often the parents are checked: a signal 0 and a read of /proc each. */
const CHECK_INTERVAL_MS = 1_000;
/** Shells through which a script is run (`sh -c '<script>'`). */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash']);
/** Nested shells followed at most (`sh -c "sh -c ..."`). */
const MAX_SHELLS = 3;

/** A process's state, parent and command line, from /proc (Linux); undefined elsewhere or once it is gone. */
function processInfo(pid: number): { readonly state: string; readonly ppid: number; readonly argv: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (in parentheses) may hold spaces: the fields after it are "state ppid ...".
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
    return { state, ppid: Number(ppid), argv };
  } catch {
    return undefined;
  }
}

/**
 * The processes this one ends with: its parent, and above each `sh -c` parent that one's parent.
 * Where /proc is missing, the parent alone.
 */
export function parentsToWatch(ppid = process.ppid): number[] {
  const watched = [ppid];
  for (let pid = ppid, shells = 0; shells < MAX_SHELLS; shells++) {
    const info = processInfo(pid);
    if (!info || !SHELLS.has(path.basename(info.argv[0] ?? '')) || info.argv[1] !== '-c' || info.ppid <= 1) break;
    pid = info.ppid;
    watched.push(pid);
  }
  return watched;
}

/** Whether `pid` still runs: a zombie (ended, not yet reaped by its own parent) does not. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return processInfo(pid)?.state !== 'Z';
}

/**
 * Calls `onGone` once, with the PID, when one of `parentsToWatch()` ends (the parent itself:
 * when this process is handed to another, as the system does when a parent dies). Started with
 * no parent to watch (PID 1), it watches nothing. Returns a function that stops the watch; the
 * watch alone keeps no process running.
 */
export function watchParents(onGone: (pid: number) => void, intervalMs = CHECK_INTERVAL_MS): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const ancestors = parentsToWatch(parent).slice(1);
  const timer = setInterval(() => {
    const gone = process.ppid !== parent ? parent : ancestors.find((pid) => !isRunning(pid));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, intervalMs).unref();
  return () => clearInterval(timer);
}
