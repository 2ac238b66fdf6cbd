/**
 * Every read and write of the WebSocket connections table, in one place: ws-connect records a
 * connection, ws-disconnect and notify forget one, notify finds a client's connections.
 */
import { type AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CONNECTION_KEY, CONNECTION_TTL_ATTRIBUTE, CONNECTIONS_BY_CLIENT_INDEX, type ConnectionItem } from '../../contract';
import { surfaceAwsError } from './aws-errors';

export interface ConnectionsTableDeps {
  readonly ddb: DynamoDBClient;
  /** The connections table. */
  readonly tableName: string;
}

/** Records a new connection; false when its id is already recorded (never overwritten). */
export async function putConnection(item: ConnectionItem, deps: ConnectionsTableDeps): Promise<boolean> {
  try {
    await deps.ddb.send(new PutItemCommand({ TableName: deps.tableName, Item: marshall(item), ConditionExpression: `attribute_not_exists(${CONNECTION_KEY})` }));
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return false;
    return surfaceAwsError(err, 'PutItem');
  }
}

/** Forgets a connection (absent is fine). Failures are thrown as they are: callers decide. */
export async function deleteConnection(connectionId: string, deps: ConnectionsTableDeps): Promise<void> {
  await deps.ddb.send(new DeleteItemCommand({ TableName: deps.tableName, Key: marshall({ [CONNECTION_KEY]: connectionId }) }));
}

export type ConnectionRecord = Pick<ConnectionItem, 'connectionId' | 'callerIdentity' | 'expiresAt'>;

/** Every connection record of `clientId`, all pages. */
export async function connectionsOf(clientId: string, deps: ConnectionsTableDeps): Promise<ConnectionRecord[]> {
  const connections: ConnectionRecord[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await deps.ddb.send(
        new QueryCommand({
          TableName: deps.tableName,
          IndexName: CONNECTIONS_BY_CLIENT_INDEX,
          KeyConditionExpression: 'clientId = :clientId',
          ExpressionAttributeValues: marshall({ ':clientId': clientId }),
          ProjectionExpression: `${CONNECTION_KEY}, callerIdentity, ${CONNECTION_TTL_ATTRIBUTE}`,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) connections.push(unmarshall(item) as ConnectionRecord);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } catch (err) {
    return surfaceAwsError(err, 'Query');
  }
  return connections;
}

/** A Lambda proxy answer to a WebSocket route: 2xx accepts, anything else refuses. */
export interface WebSocketResponse {
  readonly statusCode: number;
  /** A message for the client; never internal details. */
  readonly body?: string;
}
