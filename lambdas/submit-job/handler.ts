/** Lambda adapter of submit-job: the state machine's `Submit job` Task. */
import { BatchClient } from '@aws-sdk/client-batch';
import type { Context } from 'aws-lambda';
import { type JobState, submitInputSchema } from '../../contract';
import { statusStoreFromEnv } from '../shared/handler-env';
import { logger } from '../shared/logger';
import { publishMetrics } from '../shared/metrics';
import { parseInput } from '../shared/parse-input';
import { submitJob } from './core';

// Default settings: AWS_ENDPOINT_URL_BATCH and AWS_MAX_ATTEMPTS apply; the SDK retries throttling with backoff and jitter.
const batch = new BatchClient({});

export async function handler(event: unknown, context: Context): Promise<JobState> {
  logger.addContext(context);
  const input = parseInput(submitInputSchema, event, 'submit-job');
  logger.appendKeys({ runRequestID: input.runRequestID, route: input.route.name });
  try {
    const job = await submitJob(input, { ...statusStoreFromEnv(), batch });
    logger.info(job.alreadySubmitted ? 'Job already submitted' : 'Job submitted', { jobId: job.jobId, jobName: job.jobName });
    return job;
  } catch (err) {
    logger.error('Submit failed', { error: err as Error });
    throw err;
  } finally {
    publishMetrics();
    logger.removeKeys(['runRequestID', 'route']);
  }
}
