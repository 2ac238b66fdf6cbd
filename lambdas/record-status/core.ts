/**
 * Records what the state machine decides itself: a request REJECTED by routing or by its Lambda
 * route, a Lambda route RUNNING / SUCCEEDED / TIMED_OUT, a FAILED run from the catch-all (with a
 * reason already stripped of causes and stack traces), or a notification that could not be sent.
 */
import { recordNotificationFailureInputSchema, recordStatusInputSchema } from '../../contract';
import { InvalidInputError } from '../shared/aws-errors';
import { parseInput } from '../shared/parse-input';
import { recordNotification, recordStatus, StatusStoreDeps } from '../shared/run-requests-table';

export interface RecordStatusResult {
  readonly status?: string;
  readonly notification?: 'FAILED';
  readonly reason?: string;
  /** False when the item already held this status or a later one (which stays). */
  readonly recorded: boolean;
  /** True when a link to the result was recorded with the status. */
  readonly resultUrl?: true;
}

const NEEDS_REASON = new Set(['REJECTED', 'FAILED', 'TIMED_OUT']);

export async function recordOutcome(raw: unknown, deps: StatusStoreDeps): Promise<RecordStatusResult> {
  // Pick the shape first, so a bad input is reported by path rather than as "no union member matched".
  const isNotification = typeof raw === 'object' && raw !== null && 'notification' in raw;
  const input = isNotification ? parseInput(recordNotificationFailureInputSchema, raw, 'record-status') : parseInput(recordStatusInputSchema, raw, 'record-status');
  if ('notification' in input) {
    const recorded = await recordNotification(input.runRequestID, { outcome: 'FAILED', reason: input.reason }, deps);
    return { notification: input.notification, reason: input.reason, recorded };
  }
  if (NEEDS_REASON.has(input.status) && !input.reason) {
    throw new InvalidInputError(`record-status: invalid input: reason is required with status ${input.status}`);
  }
  const link = input.status === 'SUCCEEDED' ? resultLinkOf(input.result) : {};
  const recorded = await recordStatus({ runRequestID: input.runRequestID, status: input.status, reason: input.reason, ...link }, deps);
  return { status: input.status, reason: input.reason, recorded, ...(link.resultUrl ? { resultUrl: true } : {}) };
}

/**
 * The link a route's result carries, for GET to return while it works: an http(s) URL, and its
 * expiry when the result says (a route function of the caller's own may say nothing; a value
 * that is not a date is left out rather than failing a run that succeeded).
 */
function resultLinkOf(result: { url?: unknown; expiresAt?: unknown } | undefined): { resultUrl?: string; resultUrlExpiresAt?: string; resultUrlExpiresAtEpochMs?: number } {
  if (typeof result?.url !== 'string' || !/^https?:\/\//.test(result.url)) return {};
  const expiresAtMs = typeof result.expiresAt === 'string' ? Date.parse(result.expiresAt) : NaN;
  if (Number.isNaN(expiresAtMs)) return { resultUrl: result.url };
  return { resultUrl: result.url, resultUrlExpiresAt: new Date(expiresAtMs).toISOString(), resultUrlExpiresAtEpochMs: expiresAtMs };
}
