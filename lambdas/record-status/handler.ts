/** Lambda adapter of record-status: outcomes decided by the state machine itself. */
import type { Context } from 'aws-lambda';
import { statusStoreFromEnv } from '../shared/handler-env';
import { logger } from '../shared/logger';
import { publishMetrics } from '../shared/metrics';
import { recordOutcome, RecordStatusResult } from './core';

export async function handler(event: unknown, context: Context): Promise<RecordStatusResult> {
  logger.addContext(context);
  try {
    const result = await recordOutcome(event, statusStoreFromEnv());
    logger.info('Outcome recorded', { runRequestID: (event as { runRequestID?: string }).runRequestID, ...result });
    return result;
  } finally {
    publishMetrics();
  }
}
