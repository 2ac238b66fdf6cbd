/** Configuration every orchestration handler reads from its environment, once. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract';
import { ConfigurationError, requireEnv } from './errors';
import type { StatusStoreDeps } from './run-requests-table';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_DYNAMODB apply.
const ddb = new DynamoDBClient({});

let store: StatusStoreDeps | undefined;

/** The table, its client and the retention of finished requests (read on first use). */
export function statusStoreFromEnv(): StatusStoreDeps {
  if (!store) {
    const raw = process.env[ENV.finishedRetentionDays] ?? '90';
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1) throw new ConfigurationError(`${ENV.finishedRetentionDays} must be a whole number of days >= 1 (got '${raw}')`);
    store = { ddb, tableName: requireEnv(ENV.tableName), finishedRetentionDays: days, now: () => Date.now() };
  }
  return store;
}
