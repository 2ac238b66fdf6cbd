/**
 * The Lambda functions of the pipeline, and the environment each one reads. A module that
 * deploys a function sets these variables; a test checks every function of a synthesized stack
 * against {@link FUNCTION_ENVIRONMENT}.
 */

/** One bundle per function: `lambdas/<name>/handler.ts`, built to `dist/bundles/<name>.zip`. */
export const FUNCTION_NAMES = ['start-execution', 'submit-job', 'await-job', 'poll-job', 'job-events', 'record-status', 'ws-connect', 'ws-disconnect', 'notify', 'generate-barcode'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Environment variable names. */
export const ENV = {
  /** The run-requests table. */
  tableName: 'TABLE_NAME',
  /** Days a finished run request is kept (its TTL). */
  finishedRetentionDays: 'FINISHED_RETENTION_DAYS',
  /** The orchestration state machine start-execution starts. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The WebSocket connections table. */
  connectionsTable: 'CONNECTIONS_TABLE',
  /** Seconds a connection record lives. */
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** The WebSocket stage's https management endpoint. */
  websocketEndpoint: 'WEBSOCKET_ENDPOINT',
  /** Lifetime of a presigned result link. */
  urlExpiresSeconds: 'URL_EXPIRES_SECONDS',
  /** CloudWatch namespace of the pipeline's own metrics (Powertools reads it). */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /** The `service` of every log line and metric (Powertools reads it). */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** The AWS SDK's retry mode (`adaptive` for the functions that share Batch's account-wide rate). */
  sdkRetryMode: 'AWS_RETRY_MODE',
  /** The AWS SDK's attempts per call. */
  sdkMaxAttempts: 'AWS_MAX_ATTEMPTS',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** What every function reads besides its own. */
const COMMON: EnvName[] = [ENV.serviceName, ENV.metricsNamespace];
/** The orchestration functions: the run-requests table, and SDK retries tuned for Batch's shared rate. */
const ORCHESTRATION: EnvName[] = [...COMMON, ENV.tableName, ENV.finishedRetentionDays, ENV.sdkRetryMode, ENV.sdkMaxAttempts];

/** The variables each function needs set (optional ones it defaults are listed too). */
export const FUNCTION_ENVIRONMENT: Record<FunctionName, readonly EnvName[]> = {
  'start-execution': [...COMMON, ENV.stateMachineArn],
  'submit-job': ORCHESTRATION,
  'await-job': ORCHESTRATION,
  'poll-job': ORCHESTRATION,
  'job-events': ORCHESTRATION,
  'record-status': ORCHESTRATION,
  'ws-connect': [...COMMON, ENV.connectionsTable, ENV.connectionTtlSeconds],
  'ws-disconnect': [...COMMON, ENV.connectionsTable],
  notify: [...COMMON, ENV.connectionsTable, ENV.tableName, ENV.websocketEndpoint],
  'generate-barcode': [...COMMON, ENV.urlExpiresSeconds],
};
