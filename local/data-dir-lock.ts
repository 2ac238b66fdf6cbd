/**
 * One local mode per data dir: local mode takes the dir by writing its PID to `local-mode.pid` in
 * it, and gives it back on close. A second one on the same dir is refused with the first one's
 * PID (the one thing a user needs to stop it); a file left by a local mode that died without
 * closing (a crash, `kill -9`) names a PID no longer alive and is taken over.
 */
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const DATA_DIR_LOCK_FILE = 'local-mode.pid';

/** The data dir is held by another local mode, still running as `pid`. */
export class DataDirInUseError extends Error {
  public constructor(
    public readonly dataDir: string,
    public readonly pid: number,
    public readonly lockFile: string,
  ) {
    super(`the data dir ${dataDir} is in use by another local mode, PID ${pid} (its lock file: ${lockFile})`);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  readonly lockFile: string;
  /** Gives the dir back (removes the lock file if it is still this process's). */
  release(): void;
}

/** Whether a process of that id exists (EPERM: it does, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID a lock file names, or undefined when it is gone or unreadable. */
function holderOf(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes `dataDir` (which must exist) for this process, or throws DataDirInUseError. */
export function lockDataDir(dataDir: string, pid = process.pid): DataDirLock {
  const lockFile = path.join(dataDir, DATA_DIR_LOCK_FILE);
  // Written aside, then linked in place: the lock file never exists without its PID in it.
  const candidate = `${lockFile}.${pid}`;
  writeFileSync(candidate, `${pid}\n`);
  try {
    // A stale file is removed once; the link must succeed after that.
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(candidate, lockFile);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = holderOf(lockFile);
        if (holder !== undefined && isAlive(holder)) throw new DataDirInUseError(dataDir, holder, lockFile);
        if (attempt > 0) throw error;
      }
      rmSync(lockFile, { force: true });
    }
  } finally {
    rmSync(candidate, { force: true });
  }
  return {
    lockFile,
    release: () => {
      if (holderOf(lockFile) !== pid) return;
      try {
        unlinkSync(lockFile);
      } catch {
        // Already gone: nothing to give back.
      }
    },
  };
}
