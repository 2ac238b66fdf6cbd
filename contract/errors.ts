/**
 * The names of the errors the handlers throw and the state machine matches in its Retry and
 * Catch (on names, never on SDK internals). The error classes live with the handlers.
 */
export const ERROR_NAMES = {
  /** An AWS API still throttled after the SDK's own retries. */
  throttled: 'ThrottledError',
  /** A Batch server-side error (`ServerException`). */
  batchServer: 'BatchServerError',
  /** Any other AWS 5xx, or a request that got no answer. */
  awsService: 'AwsServiceError',
  /** `DescribeJobs` does not know the job id. */
  jobNotFound: 'JobNotFoundError',
  /** A Task's input does not have the expected shape: a definition bug. */
  invalidInput: 'InvalidInputError',
  /** A stream record that is not a run request. */
  invalidRecord: 'InvalidRecordError',
  /** A missing or malformed environment variable. */
  configuration: 'ConfigurationError',
  /** A Lambda route returned something other than its contract's result (set by the state machine). */
  invalidRouteResult: 'InvalidRouteResult',
} as const;

/** The errors the state machine retries with backoff and jitter: transient by nature. */
export const TRANSIENT_ERROR_NAMES = [ERROR_NAMES.throttled, ERROR_NAMES.batchServer, ERROR_NAMES.awsService] as const;
