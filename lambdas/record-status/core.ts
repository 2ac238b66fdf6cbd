/**
 * Records an outcome that no Batch job reported: a request REJECTED by routing, or FAILED by the
 * state machine's catch-all (with a reason already stripped of causes and stack traces).
 */
import * as z from 'zod/mini';
import { parseInput } from '../shared/orchestration-state';
import { recordStatus, StatusStoreDeps } from '../shared/status-store';

export const recordStatusInputSchema = z.object({
  runRequestID: z.string().check(z.minLength(1)),
  status: z.enum(['REJECTED', 'FAILED']),
  reason: z.string().check(z.minLength(1)),
});
export type RecordStatusInput = z.infer<typeof recordStatusInputSchema>;

export interface RecordStatusResult {
  readonly status: RecordStatusInput['status'];
  readonly reason: string;
  /** False when the item already held an outcome (which stays). */
  readonly recorded: boolean;
}

export async function recordOutcome(raw: unknown, deps: StatusStoreDeps): Promise<RecordStatusResult> {
  const input = parseInput(recordStatusInputSchema, raw, 'record-status');
  const recorded = await recordStatus({ runRequestID: input.runRequestID, status: input.status, reason: input.reason }, deps);
  return { status: input.status, reason: input.reason, recorded };
}
