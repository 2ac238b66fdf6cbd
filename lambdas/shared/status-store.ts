/**
 * Status write-back to the run-requests table. Every write is conditional on a progress number
 * that only grows (see `statusProgress`), appends to the item's status history, and sets the TTL
 * once the request is finished.
 */
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { surfaceAwsError } from './aws-errors';
import { countStatus } from './metrics';
import { isTerminal, RUN_REQUEST_TTL_ATTRIBUTE, RunRequestStatus, statusProgress } from './run-request';

export interface StatusStoreDeps {
  readonly ddb: DynamoDBClient;
  readonly tableName: string;
  /** Days a finished request is kept before DynamoDB's TTL deletes it. */
  readonly finishedRetentionDays: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

export interface StatusUpdate {
  readonly runRequestID: string;
  readonly status: RunRequestStatus;
  /** Batch attempts already made (orders a retried attempt after the one before). */
  readonly attempt?: number;
  readonly reason?: string;
  readonly jobId?: string;
  readonly jobName?: string;
  readonly exitCode?: number;
  readonly submittedAtEpochS?: number;
}

/** One entry of the item's `statusHistory`. */
export interface StatusHistoryEntry {
  readonly status: RunRequestStatus;
  readonly at: string;
  readonly reason?: string;
}

const MAX_REASON_LENGTH = 1024;

/** A reason fit to show a client: one line of printable text, bounded. */
export function sanitizeReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const line = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (line.length <= MAX_REASON_LENGTH) return line;
  let cut = '';
  // By code point, so a character of two UTF-16 units is never cut in half.
  for (const ch of line) {
    if (cut.length + ch.length > MAX_REASON_LENGTH - 1) break;
    cut += ch;
  }
  return `${cut}…`;
}

/**
 * Writes `update` unless the item already holds a status at least as far along. Returns false
 * when the condition refused the write (an older or repeated status): not an error.
 * `onlyIfJobIdUnsetOr` additionally requires the item's jobId to be absent or equal to it.
 */
export async function recordStatus(update: StatusUpdate, deps: StatusStoreDeps, onlyIfJobIdUnsetOr?: string): Promise<boolean> {
  const nowMs = deps.now();
  const at = new Date(nowMs).toISOString();
  const reason = update.reason === undefined ? undefined : sanitizeReason(update.reason);
  const entry: StatusHistoryEntry = reason === undefined ? { status: update.status, at } : { status: update.status, at, reason };
  const values: Record<string, unknown> = {
    ':status': update.status,
    ':progress': statusProgress(update.status, update.attempt ?? 0),
    ':at': at,
    ':entry': [entry],
    ':empty': [],
  };
  const set = ['#status = :status', 'statusProgress = :progress', 'updatedAt = :at', 'statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry)'];
  const remove: string[] = [];
  const optional: [string, unknown][] = [
    ['jobId', update.jobId],
    ['jobName', update.jobName],
    ['exitCode', update.exitCode],
    ['submittedAtEpochS', update.submittedAtEpochS],
  ];
  for (const [name, value] of optional) {
    if (value === undefined) continue;
    set.push(`${name} = :${name}`);
    values[`:${name}`] = value;
  }
  if (reason !== undefined) {
    set.push('reason = :reason');
    values[':reason'] = reason;
  } else {
    // A reason belongs to the status it came with.
    remove.push('reason');
  }
  if (isTerminal(update.status)) {
    set.push(`${RUN_REQUEST_TTL_ATTRIBUTE} = :expiresAt`);
    // DynamoDB TTL is epoch seconds.
    values[':expiresAt'] = Math.floor(nowMs / 1000) + deps.finishedRetentionDays * 86400;
  }
  let condition = 'attribute_exists(runRequestID) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)';
  if (onlyIfJobIdUnsetOr !== undefined) {
    condition += ' AND (attribute_not_exists(jobId) OR jobId = :expectedJobId)';
    values[':expectedJobId'] = onlyIfJobIdUnsetOr;
  }
  try {
    await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: marshall({ runRequestID: update.runRequestID }),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
      }),
    );
    countStatus(update.status);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return false;
    return surfaceAwsError(err, 'UpdateItem');
  }
}
