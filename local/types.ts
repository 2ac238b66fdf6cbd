/** Shapes the local mode's services share (see local/index.ts for how they are put together). */

/** A local server: its base URL, and how to stop it. */
export interface LocalService {
  readonly url: string;
  close(): Promise<void>;
}

/** One log line per event: `event` says what happened, `fields` carry runRequestID, jobId, ... */
export type LocalLog = (event: string, fields?: Record<string, unknown>) => void;

/** A Lambda handler as the bundles export it. */
export type LambdaHandler = (event: unknown, context?: unknown) => Promise<unknown>;

/** Prints one JSON line per event to stderr (stdout stays free for the CLI's own output). */
export function consoleLog(service: string): LocalLog {
  return (event, fields = {}) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), service, event, ...fields })}\n`);
}

/** A log that drops everything (tests). */
export const silentLog: LocalLog = () => undefined;
