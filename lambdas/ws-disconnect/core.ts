/**
 * The `$disconnect` route of the WebSocket API: forgets the connection. API Gateway delivers
 * `$disconnect` at most once and ignores the answer, so this is best effort and always 200: a
 * record left behind expires by TTL, and notify deletes it on its first GoneException.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deleteConnection, type WebSocketResponse } from '../shared/connections-table';
import { logger } from '../shared/logger';

/** The parts of a `$disconnect` event used here. */
export interface WebSocketDisconnectEvent {
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey?: string;
    readonly eventType?: string;
    readonly disconnectStatusCode?: number;
    readonly disconnectReason?: string;
  };
}

export interface WsDisconnectDeps {
  readonly ddb: DynamoDBClient;
  /** The connections table. */
  readonly tableName: string;
}

/** Deletes the connection's record (absent is fine) and answers 200 whatever happens. */
export async function disconnect(event: WebSocketDisconnectEvent, deps: WsDisconnectDeps): Promise<WebSocketResponse> {
  try {
    await deleteConnection(event.requestContext.connectionId, deps);
  } catch (err) {
    logger.warn('Could not delete the connection record: it expires by TTL', { error: err as Error });
  }
  return { statusCode: 200 };
}
