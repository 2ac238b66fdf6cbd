/**
 * Every read and write of the run-requests table by the handlers, in one place (the REST API
 * writes the item itself). Status writes are conditional on a progress number that only grows
 * (see {@link statusProgress}), append to the item's status history, and set the TTL once the
 * request is finished.
 */
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  isTerminal,
  NotificationOutcome,
  RUN_REQUEST_KEY,
  RUN_REQUEST_TTL_ATTRIBUTE,
  RunRequestItem,
  RunRequestStatus,
  StatusHistoryEntry,
} from '../../contract';
import { surfaceAwsError } from './aws-errors';
import { countStatus } from './metrics';

/** The table and its client. */
export interface RunRequestsTableDeps {
  readonly ddb: DynamoDBClient;
  readonly tableName: string;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** What status writes need besides the table. */
export interface StatusStoreDeps extends RunRequestsTableDeps {
  /** Days a finished request is kept before DynamoDB's TTL deletes it. */
  readonly finishedRetentionDays: number;
}

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
  if (isTerminal(status)) return TERMINAL_PROGRESS;
  return attempt * 10 + (IN_FLIGHT_ORDER[status] ?? 0);
}

const key = (runRequestID: string) => marshall({ [RUN_REQUEST_KEY]: runRequestID });

function isConditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
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
  readonly deadlineEpochS?: number;
  /** A link to the run's result, and when it stops working. */
  readonly resultUrl?: string;
  readonly resultUrlExpiresAt?: string;
  readonly resultUrlExpiresAtEpochMs?: number;
}

const MAX_REASON_LENGTH = 1024;

/** An ARN: it names the account, and resources a client has no business knowing. */
const ARN = /\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:[^\s"',;)]+/g;

/**
 * A reason fit to show a client: one line of printable text, ARNs replaced by `<arn>` (Batch's
 * reasons can name the task, the cluster or the role), bounded.
 */
export function sanitizeReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const line = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(ARN, '<arn>').trim();
  if (line.length <= MAX_REASON_LENGTH) return line;
  let cut = '';
  // By code point, so a character of two UTF-16 units is never cut in half.
  for (const ch of line) {
    if (cut.length + ch.length > MAX_REASON_LENGTH - 1) break;
    cut += ch;
  }
  return `${cut}…`;
}

/** Which job may write: see recordStatus. */
export type JobCondition =
  | { readonly unsetOr: string }
  | { readonly is: string }
  | { readonly isOrSubmittedAs: { readonly jobId: string; readonly jobName: string } };

/**
 * Writes `update` unless the item already holds a status at least as far along. Returns false
 * when the condition refused the write (an older or repeated status): not an error.
 * `job` additionally requires the item's jobId: `unsetOr` it (submit-job records its job),
 * exactly it (`is`: only the job recorded on the run request may change its status), or
 * `isOrSubmittedAs`: it, or none yet with the submit intent's job name (a job's event that came
 * before submit-job recorded the id: the event records it, as submit-job would have).
 */
export async function recordStatus(update: StatusUpdate, deps: StatusStoreDeps, job?: JobCondition): Promise<boolean> {
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
    ['deadlineEpochS', update.deadlineEpochS],
    ['resultUrl', update.resultUrl],
    ['resultUrlExpiresAt', update.resultUrlExpiresAt],
    ['resultUrlExpiresAtEpochMs', update.resultUrlExpiresAtEpochMs],
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
  let condition = `attribute_exists(${RUN_REQUEST_KEY}) AND (attribute_not_exists(statusProgress) OR statusProgress < :progress)`;
  if (job !== undefined && 'unsetOr' in job) {
    condition += ' AND (attribute_not_exists(jobId) OR jobId = :expectedJobId)';
    values[':expectedJobId'] = job.unsetOr;
  } else if (job !== undefined && 'is' in job) {
    condition += ' AND jobId = :expectedJobId';
    values[':expectedJobId'] = job.is;
  } else if (job !== undefined) {
    condition += ' AND (jobId = :expectedJobId OR (attribute_not_exists(jobId) AND jobName = :expectedJobName))';
    values[':expectedJobId'] = job.isOrSubmittedAs.jobId;
    values[':expectedJobName'] = job.isOrSubmittedAs.jobName;
  }
  try {
    await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: key(update.runRequestID),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
      }),
    );
    countStatus(update.status);
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    return surfaceAwsError(err, 'UpdateItem');
  }
}

/** The whole item (a consistent read), or undefined when there is none. */
export async function readRunRequest(runRequestID: string, deps: RunRequestsTableDeps): Promise<RunRequestItem | undefined> {
  try {
    const out = await deps.ddb.send(new GetItemCommand({ TableName: deps.tableName, Key: key(runRequestID), ConsistentRead: true }));
    return out.Item ? (unmarshall(out.Item) as RunRequestItem) : undefined;
  } catch (err) {
    return surfaceAwsError(err, 'GetItem');
  }
}

/**
 * Records that an attempt is about to submit the run request's job. True for the first attempt;
 * false when a job is recorded already or an earlier attempt recorded its intent (it may have
 * submitted and crashed before recording the job: that attempt's job must be looked up, not
 * submitted again), or when the run request does not exist.
 */
export async function recordSubmitIntent(runRequestID: string, jobName: string, deps: RunRequestsTableDeps): Promise<boolean> {
  try {
    await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: key(runRequestID),
        UpdateExpression: 'SET submitIntentAt = :at, jobName = :jobName',
        ConditionExpression: `attribute_exists(${RUN_REQUEST_KEY}) AND attribute_not_exists(jobId) AND attribute_not_exists(submitIntentAt)`,
        ExpressionAttributeValues: marshall({ ':at': new Date(deps.now()).toISOString(), ':jobName': jobName }),
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    return surfaceAwsError(err, 'UpdateItem');
  }
}

/**
 * Stores the task token the execution now waits on, if the item still records `jobId`, and
 * returns the item as it is after the write: a job that ended before the token was stored is
 * already recorded there. Undefined when the item records another job, or none.
 */
export async function storeAwaitToken(runRequestID: string, jobId: string, taskToken: string, deps: RunRequestsTableDeps): Promise<RunRequestItem | undefined> {
  try {
    const out = await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: key(runRequestID),
        UpdateExpression: 'SET awaitTaskToken = :token',
        ConditionExpression: 'jobId = :jobId',
        ExpressionAttributeValues: marshall({ ':token': taskToken, ':jobId': jobId }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes ? (unmarshall(out.Attributes) as RunRequestItem) : undefined;
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    return surfaceAwsError(err, 'UpdateItem');
  }
}

/** The job recorded on a run request (a consistent read): what submit-job checks before submitting. */
export type RecordedJob = Partial<Pick<RunRequestItem, 'jobId' | 'jobName' | 'submittedAtEpochS' | 'status'>>;

export async function readRecordedJob(runRequestID: string, deps: RunRequestsTableDeps): Promise<RecordedJob> {
  try {
    const out = await deps.ddb.send(
      new GetItemCommand({
        TableName: deps.tableName,
        Key: key(runRequestID),
        ConsistentRead: true,
        ProjectionExpression: 'jobId, jobName, submittedAtEpochS, #status',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    return out.Item ? (unmarshall(out.Item) as RecordedJob) : {};
  } catch (err) {
    return surfaceAwsError(err, 'GetItem');
  }
}

/**
 * Records how the client was told (notify): `sentTo` connections got the message, or why none
 * did. Returns false when the run request no longer exists (not an error); other failures throw.
 */
export async function recordNotification(
  runRequestID: string,
  outcome: { readonly outcome: NotificationOutcome; readonly sentTo?: number; readonly reason?: string },
  deps: RunRequestsTableDeps,
): Promise<boolean> {
  const set = ['notification = :outcome', 'notifiedAt = :at'];
  const values: Record<string, unknown> = { ':outcome': outcome.outcome, ':at': new Date(deps.now()).toISOString() };
  if (outcome.sentTo !== undefined) {
    set.push('notifiedConnections = :sentTo');
    values[':sentTo'] = outcome.sentTo;
  }
  if (outcome.reason !== undefined) {
    set.push('notificationError = :reason');
    values[':reason'] = sanitizeReason(outcome.reason);
  }
  try {
    await deps.ddb.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: key(runRequestID),
        UpdateExpression: `SET ${set.join(', ')}`,
        ConditionExpression: `attribute_exists(${RUN_REQUEST_KEY})`,
        ExpressionAttributeValues: marshall(values),
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    return surfaceAwsError(err, 'UpdateItem');
  }
}
