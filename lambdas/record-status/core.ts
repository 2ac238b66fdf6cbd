/**
 * Records what the state machine decides itself: a request REJECTED by routing or by its Lambda
 * route, a Lambda route RUNNING / SUCCEEDED / TIMED_OUT, a FAILED run from the catch-all (with a
 * reason already stripped of causes and stack traces), or a notification that could not be sent.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod/mini';
import { InvalidInputError, surfaceAwsError } from '../shared/aws-errors';
import { parseInput } from '../shared/orchestration-state';
import { recordStatus, sanitizeReason, StatusStoreDeps } from '../shared/status-store';

const statusInputSchema = z.object({
  runRequestID: z.string().check(z.minLength(1)),
  status: z.enum(['REJECTED', 'FAILED', 'TIMED_OUT', 'RUNNING', 'SUCCEEDED']),
  reason: z.optional(z.string().check(z.minLength(1))),
});
const notificationInputSchema = z.object({
  runRequestID: z.string().check(z.minLength(1)),
  notification: z.literal('FAILED'),
  reason: z.string().check(z.minLength(1)),
});
export const recordStatusInputSchema = z.union([statusInputSchema, notificationInputSchema]);
export type RecordStatusInput = z.infer<typeof recordStatusInputSchema>;

export interface RecordStatusResult {
  readonly status?: string;
  readonly notification?: 'FAILED';
  readonly reason?: string;
  /** False when the item already held this status or a later one (which stays). */
  readonly recorded: boolean;
}

const NEEDS_REASON = new Set(['REJECTED', 'FAILED', 'TIMED_OUT']);

export async function recordOutcome(raw: unknown, deps: StatusStoreDeps): Promise<RecordStatusResult> {
  // Pick the shape first, so a bad input is reported by path rather than as "no union member matched".
  const isNotification = typeof raw === 'object' && raw !== null && 'notification' in raw;
  const input: RecordStatusInput = isNotification ? parseInput(notificationInputSchema, raw, 'record-status') : parseInput(statusInputSchema, raw, 'record-status');
  if ('notification' in input) {
    return { notification: input.notification, reason: input.reason, recorded: await recordNotificationFailure(input.runRequestID, input.reason, deps) };
  }
  if (NEEDS_REASON.has(input.status) && !input.reason) {
    throw new InvalidInputError(`record-status: invalid input: reason is required with status ${input.status}`);
  }
  const recorded = await recordStatus({ runRequestID: input.runRequestID, status: input.status, reason: input.reason }, deps);
  return { status: input.status, reason: input.reason, recorded };
}

async function recordNotificationFailure(runRequestID: string, reason: string, deps: StatusStoreDeps): Promise<boolean> {
  try {
    await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: marshall({ runRequestID }),
        UpdateExpression: 'SET notification = :failed, notificationError = :reason, notifiedAt = :at',
        ConditionExpression: 'attribute_exists(runRequestID)',
        ExpressionAttributeValues: marshall({ ':failed': 'FAILED', ':reason': sanitizeReason(reason), ':at': new Date(deps.now()).toISOString() }),
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    return surfaceAwsError(err, 'UpdateItem');
  }
}
