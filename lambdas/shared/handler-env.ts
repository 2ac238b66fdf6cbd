/** Configuration every orchestration handler reads from its environment, once. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigurationError, requireEnv } from './errors';
import { StatusStoreDeps } from './status-store';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_DYNAMODB apply.
const ddb = new DynamoDBClient({});

let store: StatusStoreDeps | undefined;

/** The table, its client and the retention of finished requests (read on first use). */
export function statusStoreFromEnv(): StatusStoreDeps {
  if (!store) {
    const days = Number(process.env.FINISHED_RETENTION_DAYS ?? '90');
    if (!Number.isInteger(days) || days < 1) throw new ConfigurationError(`FINISHED_RETENTION_DAYS must be a whole number of days >= 1 (got '${process.env.FINISHED_RETENTION_DAYS}')`);
    store = { ddb, tableName: requireEnv('TABLE_NAME'), finishedRetentionDays: days, now: () => Date.now() };
  }
  return store;
}
