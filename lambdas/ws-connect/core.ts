/**
 * The `$connect` route of the WebSocket API: records who is listening for which clientId, so
 * that notify can reach the connections of the identity that posted a run request. API Gateway
 * refuses the connection on any answer other than 2xx, so every refusal here is a status code
 * with a message for the client, never an exception.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CLIENT_ID_PATTERN, type ConnectionItem, DEFAULT_CONNECTION_TTL_SECONDS, ENV, RUN_REQUEST_LIMITS } from '../../contract';
import { putConnection, type WebSocketResponse } from '../shared/connections-table';
import { ConfigurationError } from '../shared/errors';

const CLIENT_ID = new RegExp(CLIENT_ID_PATTERN);

/** The parts of a `$connect` event (Lambda proxy integration, AWS_IAM authorization) used here. */
export interface WebSocketConnectEvent {
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey: string;
    readonly eventType: string;
    readonly identity?: {
      readonly userArn?: string | null;
      readonly caller?: string | null;
      readonly accountId?: string | null;
      readonly sourceIp?: string | null;
    };
  };
  /** Absent or null when the client connected without a query string. */
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}

export interface WsConnectDeps {
  readonly ddb: DynamoDBClient;
  /** The connections table. */
  readonly tableName: string;
  /** Seconds a connection record is considered live (see {@link connectionTtlSecondsFrom}). */
  readonly ttlSeconds: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/**
 * CONNECTION_TTL_SECONDS as a whole number of seconds >= 1, or the default when unset. Throws
 * {@link ConfigurationError} naming the bad value otherwise.
 */
export function connectionTtlSecondsFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_CONNECTION_TTL_SECONDS;
  const seconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(seconds) || seconds < 1) {
    throw new ConfigurationError(`${ENV.connectionTtlSeconds} must be a whole number of seconds >= 1 (got '${value}')`);
  }
  return seconds;
}

/**
 * Validates the connection and records it. Returns 400 for a missing or invalid clientId, 403
 * without a caller identity, 409 if the connection id is already recorded (never overwritten),
 * 200 once recorded. DynamoDB failures are thrown (throttling as ThrottledError) for the adapter to map.
 */
export async function connect(event: WebSocketConnectEvent, deps: WsConnectDeps): Promise<WebSocketResponse> {
  const clientId = event.queryStringParameters?.clientId;
  if (clientId === undefined || clientId === '') {
    return { statusCode: 400, body: 'clientId is required: connect with the query string ?clientId=<your client id>' };
  }
  if (clientId.length > RUN_REQUEST_LIMITS.clientId || !CLIENT_ID.test(clientId)) {
    return { statusCode: 400, body: `clientId must be 1 to ${RUN_REQUEST_LIMITS.clientId} characters among A-Z a-z 0-9 _ . : -` };
  }
  // AWS_IAM authorization on the route already refuses unsigned requests; this guards against a
  // route deployed without it, where anyone could listen under any identity.
  const callerIdentity = event.requestContext.identity?.userArn;
  if (!callerIdentity) {
    return { statusCode: 403, body: 'authentication is required: sign the connection request with SigV4' };
  }

  const nowMs = deps.now();
  const item: ConnectionItem = {
    connectionId: event.requestContext.connectionId,
    clientId,
    callerIdentity,
    connectedAt: new Date(nowMs).toISOString(),
    // DynamoDB TTL is epoch seconds.
    expiresAt: Math.floor(nowMs / 1000) + deps.ttlSeconds,
  };
  if (!(await putConnection(item, { ddb: deps.ddb, tableName: deps.tableName }))) {
    return { statusCode: 409, body: 'this connection is already registered' };
  }
  return { statusCode: 200 };
}
