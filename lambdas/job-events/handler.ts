/**
 * Lambda adapter of job-events: the target of the EventBridge rule for the gateway's Batch job
 * state changes. Invoked asynchronously; a throw is retried by Lambda (and the safety-net checks
 * of the state machine catch what is lost for good).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { statusStoreFromEnv } from '../shared/handler-env';
import { logger } from '../shared/logger';
import { publishMetrics } from '../shared/metrics';
import { handleJobEvent, type JobEventResult } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_SFN apply.
const sfn = new SFNClient({});

export async function handler(event: unknown, context: Context): Promise<JobEventResult> {
  logger.addContext(context);
  try {
    const result = await handleJobEvent(event, { ...statusStoreFromEnv(), sfn });
    // Unmatched events are counted (JobEventsUnmatched) and alarmed; the warning says which and why.
    if (result.ignored) logger.warn('Job event matched no run request', { ...result });
    else logger.info('Job event handled', { ...result });
    return result;
  } catch (err) {
    logger.error('Job event failed', { error: err as Error });
    throw err;
  } finally {
    publishMetrics();
  }
}
