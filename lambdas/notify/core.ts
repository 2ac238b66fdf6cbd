/**
 * Tells the WebSocket connections listening for a run request's clientId what became of it.
 * Only connections opened by the identity that posted the request are told: another identity
 * that claims the same clientId receives nothing.
 *
 * Each connection gets at most one message per call, and nothing after the first send is thrown:
 * a retry of the whole Task would send again to the connections already reached. Only a failure
 * before any send (finding the connections) is thrown, so that the state machine retries it.
 */
import { type ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { NotificationMessage, NotificationOutcome, NotifyInput } from '../../contract';
import { connectionsOf, deleteConnection } from '../shared/connections-table';
import { ConfigurationError } from '../shared/errors';
import { logger } from '../shared/logger';
import { recordNotification } from '../shared/run-requests-table';

export interface NotifyResult {
  /**
   * What is recorded on the run request: `SENT` when at least one connection got the message,
   * `FAILED` when sends were attempted and none got through, `NO_CONNECTION` when the identity had
   * no live connection (including connections that turned out to be gone): not an error.
   */
  readonly outcome: NotificationOutcome;
  /** Connections that accepted the message. */
  readonly sent: number;
  /** Connections API Gateway no longer knows (GoneException): their records were deleted. */
  readonly gone: number;
  /** Connections whose send failed otherwise: logged, not retried. */
  readonly failed: number;
  /** Records skipped: expired, or opened by another identity. */
  readonly skipped: number;
}

export interface NotifyDeps {
  readonly ddb: DynamoDBClient;
  /** Built with the WebSocket stage's management endpoint. */
  readonly apigw: ApiGatewayManagementApiClient;
  readonly connectionsTable: string;
  /** The run-requests table, where the outcome is recorded. */
  readonly runRequestsTable: string;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

export const MAX_ERROR_MESSAGE_LENGTH = 512;
/** Sends in flight at once: enough for a client's few connections without bursting into API Gateway's limits. */
const SEND_CONCURRENCY = 10;

/**
 * WEBSOCKET_ENDPOINT as the management API's endpoint: the stage's https URL
 * (`https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`), not the wss URL clients use.
 */
export function managementEndpointFrom(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`WEBSOCKET_ENDPOINT must be a URL such as https://<api-id>.execute-api.<region>.amazonaws.com/<stage> (got '${value}')`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(`WEBSOCKET_ENDPOINT must be the stage's https:// URL, not ${url.protocol}// (got '${value}')`);
  }
  return value;
}

/**
 * One printable line of at most `max` UTF-16 units. Only the first line is kept: a stack trace
 * (V8's `    at ...`, Python's `Traceback ...`) always starts on a later line.
 */
function clientLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const line = (text.split(/\r\n|\r|\n/, 1)[0] ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (line.length <= max) return line;
  let cut = '';
  // By code point, so a character of two UTF-16 units is never cut in half.
  for (const ch of line) {
    if (cut.length + ch.length > max - 1) break;
    cut += ch;
  }
  return `${cut}…`;
}

/** The JSON text sent to each connection. */
export function notificationMessage(input: NotifyInput): string {
  const { status, url, error } = input.notification;
  const message: NotificationMessage = {
    runRequestID: input.runRequestID,
    status,
    ...(url === undefined ? {} : { url }),
    ...(error === undefined
      ? {}
      : { error: { code: error.code, message: clientLine(error.message, MAX_ERROR_MESSAGE_LENGTH) } }),
  };
  return JSON.stringify(message);
}

type SendResult = 'sent' | 'gone' | 'failed';

async function sendTo(connectionId: string, data: Uint8Array, deps: NotifyDeps): Promise<SendResult> {
  try {
    await deps.apigw.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
    return 'sent';
  } catch (err) {
    if ((err as Error).name === 'GoneException') {
      await forget(connectionId, deps);
      return 'gone';
    }
    logger.error('Could not notify a connection', { connectionId, error: err as Error });
    return 'failed';
  }
}

/** Best effort: a record left behind is skipped once expired, and TTL deletes it. */
async function forget(connectionId: string, deps: NotifyDeps): Promise<void> {
  try {
    await deleteConnection(connectionId, { ddb: deps.ddb, tableName: deps.connectionsTable });
  } catch (err) {
    logger.warn('Could not delete the record of a gone connection', { connectionId, error: err as Error });
  }
}

/** Runs `fn` on every item with at most `limit` in flight; `fn` must not throw. */
async function forEachLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function notify(input: NotifyInput, deps: NotifyDeps): Promise<NotifyResult> {
  const nowMs = deps.now();
  const nowS = Math.floor(nowMs / 1000);
  const records = await connectionsOf(input.clientId, { ddb: deps.ddb, tableName: deps.connectionsTable });

  // TTL deletion lags by up to days, so an expired record may still be listed.
  const live = new Set<string>();
  let skipped = 0;
  for (const record of records) {
    const current = typeof record.expiresAt === 'number' && record.expiresAt > nowS;
    if (current && record.callerIdentity === input.callerIdentity && record.connectionId) live.add(record.connectionId);
    else skipped += 1;
  }

  const data = new TextEncoder().encode(notificationMessage(input));
  const results = await forEachLimited([...live], SEND_CONCURRENCY, (connectionId) => sendTo(connectionId, data, deps));
  const count = (result: SendResult) => results.filter((r) => r === result).length;
  const sent = count('sent');
  const gone = count('gone');
  const failed = count('failed');
  const outcome: NotificationOutcome = sent > 0 ? 'SENT' : failed > 0 ? 'FAILED' : 'NO_CONNECTION';

  try {
    const recorded = await recordNotification(input.runRequestID, { outcome, sentTo: sent }, { ddb: deps.ddb, tableName: deps.runRequestsTable, now: () => nowMs });
    if (!recorded) logger.warn('The run request no longer exists: outcome not recorded', { outcome });
  } catch (err) {
    // Nothing was sent yet, so a retry of the Task duplicates nothing.
    if (results.length === 0) throw err;
    logger.error('Could not record the notification outcome', { outcome, error: err as Error });
  }
  return { outcome, sent, gone, failed, skipped };
}
