/** Lambda adapter of poll-job: the state machine's `Poll job` Task. */
import { BatchClient } from '@aws-sdk/client-batch';
import type { Context } from 'aws-lambda';
import { type JobState, pollInputSchema } from '../../contract';
import { statusStoreFromEnv } from '../shared/handler-env';
import { logger } from '../shared/logger';
import { publishMetrics } from '../shared/metrics';
import { parseInput } from '../shared/parse-input';
import { pollJob } from './core';

// Default settings: AWS_ENDPOINT_URL_BATCH and AWS_MAX_ATTEMPTS apply; the SDK retries throttling with backoff and jitter.
const batch = new BatchClient({});

export async function handler(event: unknown, context: Context): Promise<JobState> {
  logger.addContext(context);
  const input = parseInput(pollInputSchema, event, 'poll-job');
  logger.appendKeys({ runRequestID: input.runRequestID, jobId: input.job.jobId });
  try {
    const job = await pollJob(input, { ...statusStoreFromEnv(), batch });
    logger.info('Job polled', { status: job.status, pollCount: job.pollCount, waitSeconds: job.waitSeconds });
    return job;
  } catch (err) {
    logger.error('Poll failed', { error: err as Error });
    throw err;
  } finally {
    publishMetrics();
    logger.removeKeys(['runRequestID', 'jobId']);
  }
}
