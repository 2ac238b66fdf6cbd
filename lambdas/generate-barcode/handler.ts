/** Lambda adapter of generate-barcode: a Lambda route the state machine invokes as a Task. */
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { ENV } from '../../contract';
import { parseInput } from '../shared/parse-input';
import { logger } from '../shared/logger';
import { generateBarcode, GenerateBarcodeResult, routeInputSchema, urlExpiresSecondsFrom } from './core';

// Default settings: AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_S3 apply; the SDK retries throttling with backoff and jitter.
const s3 = new S3Client({});

let urlExpiresSeconds: number | undefined;

export async function handler(event: unknown, context: Context): Promise<GenerateBarcodeResult> {
  logger.addContext(context);
  const input = parseInput(routeInputSchema, event, 'generate-barcode');
  logger.appendKeys({ runRequestID: input.runRequestID, processname: input.processname });
  try {
    urlExpiresSeconds ??= urlExpiresSecondsFrom(process.env[ENV.urlExpiresSeconds]);
    const result = await generateBarcode(input, { s3, urlExpiresSeconds, now: () => Date.now() });
    if (result.ok) logger.info('Barcode stored', { key: result.key, expiresAt: result.expiresAt });
    else logger.warn('Barcode request rejected', { code: result.code, reason: result.message });
    return result;
  } catch (err) {
    logger.error('Barcode failed', { error: err as Error });
    throw err;
  } finally {
    logger.removeKeys(['runRequestID', 'processname']);
  }
}
