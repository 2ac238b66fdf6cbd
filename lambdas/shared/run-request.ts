/**
 * The run request as stored in the run-requests table, and the status vocabulary shared by the
 * API mapping templates, the Lambdas and the tests. Attribute names here are the table's schema:
 * the REST mapping template (modules/api-ingest/templates.ts) writes exactly these.
 */

/** Every status a run request can have. Terminal ones are listed in {@link TERMINAL_STATUSES}. */
export const RUN_REQUEST_STATUSES = [
  'ACCEPTED',
  'REJECTED',
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
] as const;

export type RunRequestStatus = (typeof RUN_REQUEST_STATUSES)[number];

export const TERMINAL_STATUSES: readonly RunRequestStatus[] = ['REJECTED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'];

/** A run request item, as the API writes it (optional fields are absent, never empty). */
export interface RunRequest {
  /** API Gateway's request id of the POST: the table's hash key. */
  readonly runRequestID: string;
  /** Selects the job route. */
  readonly processname: string;
  readonly clientname: string;
  /** The caller's own timestamp, kept as given. */
  readonly timestamp?: string;
  /** Flat map of strings passed to the job. */
  readonly parameters?: Record<string, string>;
  /** Client id for notifications. */
  readonly clientId?: string;
  /** Who posted the request: the SigV4 caller's ARN, or `apikey:<id>` with API-key auth. */
  readonly callerIdentity: string;
  readonly status: RunRequestStatus;
  /** When API Gateway received the request, ISO 8601 UTC (second precision). */
  readonly receivedAt: string;
  /** When API Gateway received the request, epoch milliseconds. */
  readonly receivedAtEpochMs: number;
}

/** Table attribute names used outside the item shape above. */
export const RUN_REQUEST_KEY = 'runRequestID';
/** TTL attribute (epoch seconds) set once a request is finished, so old requests expire. */
export const RUN_REQUEST_TTL_ATTRIBUTE = 'expiresAt';

/** In-flight statuses in the order one Batch attempt moves through them. */
const IN_FLIGHT_ORDER: Partial<Record<RunRequestStatus, number>> = {
  ACCEPTED: 0,
  SUBMITTED: 1,
  PENDING: 2,
  RUNNABLE: 3,
  STARTING: 4,
  RUNNING: 5,
};

/** Progress of every terminal status: above any attempt, so nothing overwrites an outcome. */
export const TERMINAL_PROGRESS = 1_000_000;

/**
 * A number that only grows as a run request moves on (attempt first, then status), stored with
 * each status so that a conditional write never lets an older status replace a newer one, even
 * when a retried Batch attempt goes from RUNNING back to RUNNABLE.
 */
export function statusProgress(status: RunRequestStatus, attempt = 0): number {
  if (TERMINAL_STATUSES.includes(status)) return TERMINAL_PROGRESS;
  return attempt * 10 + (IN_FLIGHT_ORDER[status] ?? 0);
}

export function isTerminal(status: RunRequestStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
