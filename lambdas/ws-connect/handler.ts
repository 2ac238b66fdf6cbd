/** Lambda adapter of the WebSocket API's `$connect` route. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ENV } from '../../contract';
import { ThrottledError } from '../shared/aws-errors';
import type { WebSocketResponse } from '../shared/connections-table';
import { requireEnv } from '../shared/errors';
import { logger } from '../shared/logger';
import { connect, connectionTtlSecondsFrom, type WebSocketConnectEvent, type WsConnectDeps } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_DYNAMODB apply.
const ddb = new DynamoDBClient({});

// Read on first invocation, not at import, so tests can set the environment first.
let deps: WsConnectDeps | undefined;
function depsFromEnv(): WsConnectDeps {
  deps ??= {
    ddb,
    tableName: requireEnv(ENV.connectionsTable),
    ttlSeconds: connectionTtlSecondsFrom(process.env[ENV.connectionTtlSeconds]),
    now: () => Date.now(),
  };
  return deps;
}

export async function handler(event: WebSocketConnectEvent, context: Context): Promise<WebSocketResponse> {
  logger.addContext(context);
  logger.appendKeys({ connectionId: event.requestContext.connectionId });
  try {
    const response = await connect(event, depsFromEnv());
    if (response.statusCode === 200) {
      logger.info('Connection recorded', { clientId: event.queryStringParameters?.clientId });
    } else {
      logger.warn('Connection refused', { statusCode: response.statusCode, reason: response.body, sourceIp: event.requestContext.identity?.sourceIp });
    }
    return response;
  } catch (err) {
    // The client sees a status and a fixed message; the details stay in the log.
    logger.error('Could not record the connection', { error: err as Error });
    if (err instanceof ThrottledError) return { statusCode: 429, body: 'too many connection attempts: retry with backoff' };
    return { statusCode: 500, body: 'the connection could not be recorded: retry later' };
  } finally {
    logger.removeKeys(['connectionId']);
  }
}
