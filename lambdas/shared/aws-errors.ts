/**
 * Errors the orchestration handlers surface to Step Functions under the stable names of the
 * contract (contract/errors.ts), so that the state machine's Retry and Catch match on names
 * rather than on SDK internals.
 */
import { ERROR_NAMES } from '../../contract';

/** An AWS API still throttled after the SDK's own retries: Step Functions retries with backoff and jitter. */
export class ThrottledError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.throttled;
  }
}

/** A Batch server-side error (`ServerException`): transient, retried by the state machine. */
export class BatchServerError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.batchServer;
  }
}

/** Any other AWS 5xx: transient, retried by the state machine. */
export class AwsServiceError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.awsService;
  }
}

/** `DescribeJobs` does not know the job id. */
export class JobNotFoundError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.jobNotFound;
  }
}

/** The state handed to a handler does not have the expected shape: a definition bug, not transient. */
export class InvalidInputError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.invalidInput;
  }
}

const THROTTLING_NAMES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function isThrottling(err: unknown): boolean {
  const e = err as SdkError;
  if (THROTTLING_NAMES.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 429) return true;
  // Batch reports throttling as a ClientException with this message.
  return e?.name === 'ClientException' && /too many requests|rate exceeded/i.test(e.message ?? '');
}

const NETWORK_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError']);
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/** A request that never got an HTTP answer (socket reset, timeout): transient. */
export function isNetworkError(err: unknown): boolean {
  const e = err as SdkError & { code?: string };
  if (e?.$metadata?.httpStatusCode) return false;
  return NETWORK_ERROR_NAMES.has(e?.name ?? '') || NETWORK_ERROR_CODES.has(e?.code ?? '');
}

/** Rethrows an AWS SDK error under a stable name when it is transient; otherwise as it is. */
export function surfaceAwsError(err: unknown, operation: string): never {
  const e = err as SdkError;
  if (isThrottling(err)) throw new ThrottledError(`${operation} throttled`, { cause: err });
  if (e?.name === 'ServerException') throw new BatchServerError(`${operation}: Batch server error`, { cause: err });
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || e?.name === 'InternalServerError' || e?.name === 'ServiceUnavailable' || isNetworkError(err)) {
    throw new AwsServiceError(`${operation}: AWS service error (${e?.name ?? status})`, { cause: err });
  }
  throw err;
}
