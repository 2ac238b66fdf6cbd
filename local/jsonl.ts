/**
 * JSON Lines files that survive a crash of local mode: each value is one line, appended with one
 * synchronous write (so it is in the file before the caller answers anyone), and read back
 * without the torn line a crash in the middle of a write can leave at the end.
 */
import { appendFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';

const NEWLINE = 0x0a;

export function appendJsonLine(file: string, value: unknown): void {
  appendFileSync(file, `${JSON.stringify(value)}\n`);
}

/**
 * The file's values in order; none when it does not exist. A last line without its newline was
 * torn by a crash: it is cut off the file, so that the next append starts a line of its own.
 */
export function readJsonLines<T>(file: string): T[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const end = bytes.lastIndexOf(NEWLINE) + 1;
  if (end < bytes.length) truncateSync(file, end);
  return bytes
    .subarray(0, end)
    .toString('utf8')
    .split('\n')
    .flatMap((line, index) => {
      if (line === '') return [];
      try {
        return [JSON.parse(line) as T];
      } catch (err) {
        throw new Error(`${file}:${index + 1} is not JSON (${(err as Error).message}): move the file away to start afresh`, { cause: err });
      }
    });
}

/** Replaces the file with these values: written aside, then renamed, so a crash leaves the old file or the new one. */
export function rewriteJsonLines(file: string, values: readonly unknown[]): void {
  const aside = `${file}.${process.pid}.tmp`;
  writeFileSync(aside, values.map((value) => `${JSON.stringify(value)}\n`).join(''));
  renameSync(aside, file);
}
