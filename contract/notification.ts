/**
 * What a WebSocket client receives when its run ends, and the connection records notify reads.
 * The client protocol: README, "Client protocol".
 */
import * as z from 'zod/mini';
import { CLIENT_ID_PATTERN, RUN_REQUEST_LIMITS, RUN_REQUEST_STATUSES } from './run-request';

/** `error.code` of a message: why the run did not succeed. */
export const NOTIFICATION_ERROR_CODES = ['JOB_FAILED', 'REJECTED', 'TIMED_OUT', 'ORCHESTRATION_ERROR'] as const;
export type NotificationErrorCode = (typeof NOTIFICATION_ERROR_CODES)[number];

/** The message a client receives: exactly these keys. */
export const notificationMessageSchema = z.strictObject({
  runRequestID: z.string(),
  status: z.enum(RUN_REQUEST_STATUSES),
  /** A link to the run's artifact, when it has one. */
  url: z.optional(z.string()),
  error: z.optional(z.strictObject({ code: z.enum(NOTIFICATION_ERROR_CODES), message: z.string() })),
});
export type NotificationMessage = z.infer<typeof notificationMessageSchema>;

/** The connections table's hash key: API Gateway's connection id. */
export const CONNECTION_KEY = 'connectionId';
/** Its index on `clientId` (projection ALL): how notify finds a client's connections. */
export const CONNECTIONS_BY_CLIENT_INDEX = 'byClientId';
/** TTL attribute (epoch seconds). */
export const CONNECTION_TTL_ATTRIBUTE = 'expiresAt';
/** How long a connection record lives when the stack sets nothing. */
export const DEFAULT_CONNECTION_TTL_SECONDS = 3600;

/** An item of the connections table: ws-connect writes it, notify reads it. */
export const connectionItemSchema = z.object({
  [CONNECTION_KEY]: z.string().check(z.minLength(1)),
  /** What the client listens for (the index's hash key). */
  clientId: z.string().check(z.regex(new RegExp(CLIENT_ID_PATTERN)), z.maxLength(RUN_REQUEST_LIMITS.clientId)),
  /** The SigV4 caller's ARN: only run requests posted by this identity are sent here. */
  callerIdentity: z.string().check(z.minLength(1)),
  /** ISO 8601 UTC. */
  connectedAt: z.string(),
  /** Epoch SECONDS (DynamoDB TTL): after it the record is ignored even before TTL deletes it. */
  [CONNECTION_TTL_ATTRIBUTE]: z.number(),
});
export type ConnectionItem = z.infer<typeof connectionItemSchema>;
