/**
 * The run requests received last, for the status page to list at start. Local mode has one caller
 * (every request is posted as LOCAL_IDENTITY), so every request of the table is that caller's.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** What GET /runrequests/{id} shows of a request. `receivedAtEpochMs` orders them and is not shown. */
const SHOWN_FIELDS = ['runRequestID', 'status', 'processname', 'clientname', 'timestamp', 'receivedAt', 'updatedAt', 'jobId', 'reason', 'exitCode'];
/** The item's result link, shown as GET shows it: `url` and `urlExpiresAt`, while it works. */
const LINK_FIELDS = ['resultUrl', 'resultUrlExpiresAt', 'resultUrlExpiresAtEpochMs'];
const ORDER_FIELD = 'receivedAtEpochMs';

/** The `limit` requests of the run-requests table received last, newest first. */
export async function recentRunRequests(client: DynamoDBClient, tableName: string, limit: number, now = Date.now()): Promise<Record<string, unknown>[]> {
  const fields = [...SHOWN_FIELDS, ...LINK_FIELDS, ORDER_FIELD];
  // `status` and others are reserved words in expressions: every field by placeholder.
  const names = Object.fromEntries(fields.map((field, i) => [`#f${i}`, field]));
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  // A local table is small: the whole of it is read and sorted here, since a Scan has no order.
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items
    .sort((a, b) => Number(b[ORDER_FIELD] ?? 0) - Number(a[ORDER_FIELD] ?? 0))
    .slice(0, limit)
    .map(({ [ORDER_FIELD]: _received, resultUrl, resultUrlExpiresAt, resultUrlExpiresAtEpochMs, ...shown }) => {
      const works = typeof resultUrl === 'string' && (resultUrlExpiresAtEpochMs === undefined || Number(resultUrlExpiresAtEpochMs) > now);
      return works ? { ...shown, url: resultUrl, ...(resultUrlExpiresAt !== undefined ? { urlExpiresAt: resultUrlExpiresAt } : {}) } : shown;
    });
}
