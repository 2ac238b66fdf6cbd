/** Lambda adapter of await-job: the state machine's `Await job` Task (invoked with a task token). */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { awaitJobInputSchema } from '../../contract';
import { statusStoreFromEnv } from '../shared/handler-env';
import { logger } from '../shared/logger';
import { parseInput } from '../shared/parse-input';
import { awaitJob, type AwaitJobResult } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_SFN apply.
const sfn = new SFNClient({});

export async function handler(event: unknown, context: Context): Promise<AwaitJobResult> {
  logger.addContext(context);
  const input = parseInput(awaitJobInputSchema, event, 'await-job');
  logger.appendKeys({ runRequestID: input.runRequestID, jobId: input.jobId });
  try {
    const result = await awaitJob(input, { ...statusStoreFromEnv(), sfn });
    logger.info(result.woken ? 'Job had ended: execution woken' : 'Awaiting the job');
    return result;
  } catch (err) {
    logger.error('Await failed', { error: err as Error });
    throw err;
  } finally {
    logger.removeKeys(['runRequestID', 'jobId']);
  }
}
