/** Lambda adapter of the WebSocket API's `$disconnect` route. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ENV } from '../../contract';
import type { WebSocketResponse } from '../shared/connections-table';
import { requireEnv } from '../shared/errors';
import { logger } from '../shared/logger';
import { disconnect, type WebSocketDisconnectEvent, type WsDisconnectDeps } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_DYNAMODB apply.
const ddb = new DynamoDBClient({});

// Read on first invocation, not at import, so tests can set the environment first.
let deps: WsDisconnectDeps | undefined;
function depsFromEnv(): WsDisconnectDeps {
  deps ??= { ddb, tableName: requireEnv(ENV.connectionsTable) };
  return deps;
}

export async function handler(event: WebSocketDisconnectEvent, context: Context): Promise<WebSocketResponse> {
  logger.addContext(context);
  logger.appendKeys({ connectionId: event.requestContext.connectionId });
  try {
    const response = await disconnect(event, depsFromEnv());
    logger.info('Connection closed', {
      disconnectStatusCode: event.requestContext.disconnectStatusCode,
      disconnectReason: event.requestContext.disconnectReason,
    });
    return response;
  } finally {
    logger.removeKeys(['connectionId']);
  }
}
