/** Lambda adapter of notify: the state machine's `Notify` Task. */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ENV, notifyInputSchema } from '../../contract';
import { requireEnv } from '../shared/errors';
import { logger } from '../shared/logger';
import { parseInput } from '../shared/parse-input';
import { managementEndpointFrom, notify, type NotifyDeps, type NotifyResult } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_DYNAMODB apply.
const ddb = new DynamoDBClient({});

// Read on first invocation, not at import, so tests can set the environment first. The management
// client is built then, once: its endpoint is the WebSocket stage, known only from the environment.
let deps: NotifyDeps | undefined;
function depsFromEnv(): NotifyDeps {
  deps ??= {
    ddb,
    apigw: new ApiGatewayManagementApiClient({ endpoint: managementEndpointFrom(requireEnv(ENV.websocketEndpoint)) }),
    connectionsTable: requireEnv(ENV.connectionsTable),
    runRequestsTable: requireEnv(ENV.tableName),
    now: () => Date.now(),
  };
  return deps;
}

export async function handler(event: unknown, context: Context): Promise<NotifyResult> {
  logger.addContext(context);
  const input = parseInput(notifyInputSchema, event, 'notify');
  logger.appendKeys({ runRequestID: input.runRequestID });
  try {
    const result = await notify(input, depsFromEnv());
    logger.info('Notification done', { clientId: input.clientId, status: input.notification.status, ...result });
    return result;
  } catch (err) {
    logger.error('Notify failed', { error: err as Error });
    throw err;
  } finally {
    logger.removeKeys(['runRequestID']);
  }
}
