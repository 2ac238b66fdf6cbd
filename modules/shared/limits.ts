/**
 * AWS limits the gateway checks where a value is set (construct props), so that a configuration
 * that a real account would refuse, or that would fail at run time, stops the synth instead. Each
 * is documented by AWS; the README's "Limits" table lists them with the rule that enforces them.
 */
export const AWS_LIMITS = {
  /** AWS Batch service quotas: maximum job payload size for SubmitJob. */
  submitJobPayloadBytes: 30 * 1024,
  /** AWS Batch service quotas: maximum job definition size for RegisterJobDefinition. */
  jobDefinitionBytes: 24 * 1024,
  /** AWS Batch: a job attempt's timeout is at least 60 seconds. */
  minAttemptTimeoutSeconds: 60,
  /** AWS Batch: jobs on Fargate are not guaranteed to run longer than 14 days. */
  fargateMaxRunSeconds: 14 * 86400,
  /** Step Functions: an execution's history holds at most 25,000 events. */
  executionHistoryEvents: 25_000,
  /** Step Functions: a state's input or output, or an execution's input, is at most 256 KiB. */
  stateMachinePayloadBytes: 256 * 1024,
  /** Step Functions: a Standard execution runs at most one year. */
  standardExecutionSeconds: 365 * 86400,
  /** Lambda: a function runs at most 15 minutes. */
  lambdaMaxTimeoutSeconds: 900,
  /** API Gateway (WebSocket): a connection lasts at most 2 hours. */
  websocketConnectionSeconds: 2 * 3600,
  /** API Gateway (WebSocket): an idle connection is closed after 10 minutes. */
  websocketIdleSeconds: 10 * 60,
  /** API Gateway (REST): a request payload is at most 10 MB. */
  restPayloadBytes: 10 * 1024 * 1024,
  /** SigV4: a presigned URL lives at most 7 days. */
  presignedUrlSeconds: 7 * 86400,
  /** AWS Batch: a tag value is at most 256 characters. */
  tagValueLength: 256,
  /** AWS Batch: a retry strategy holds at most 5 evaluateOnExit entries. */
  evaluateOnExitEntries: 5,
  /** AWS Batch: an evaluateOnExit glob pattern is at most 512 characters. */
  evaluateOnExitPatternLength: 512,
} as const;

/** Bytes of `value` as UTF-8 JSON: what an API's payload limit counts. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
