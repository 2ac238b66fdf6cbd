/**
 * What a WebSocket client receives when its run ends, what it may send (a keepalive ping) and what
 * the API answers, and the connection records notify reads. The client protocol: docs/modules.md,
 * "Client protocol".
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

/**
 * API Gateway's quotas on one WebSocket connection, which cannot be raised: it closes a connection
 * that carried no message for 10 minutes, and any connection after 2 hours
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
 */
export const WEBSOCKET_LIMITS = { idleTimeoutSeconds: 600, maxConnectionSeconds: 7200 } as const;

/**
 * How long a connection record lives when the stack sets nothing: as long as API Gateway lets the
 * connection live, so notify never skips a connection that is still open.
 */
export const DEFAULT_CONNECTION_TTL_SECONDS = WEBSOCKET_LIMITS.maxConnectionSeconds;

/**
 * How often a client sends {@link PING_MESSAGE}: half the idle timeout, so a late timer (browsers
 * run a background tab's timers as rarely as once a minute) or one lost ping does not let it expire.
 */
export const KEEPALIVE_INTERVAL_SECONDS = WEBSOCKET_LIMITS.idleTimeoutSeconds / 2;

/** The route key of the keepalive: the API selects a route by a message's `action`. */
export const PING_ACTION = 'ping';
/** The keepalive a client sends. */
export const PING_MESSAGE = { action: PING_ACTION } as const;
/** The API's answer to a ping (a MOCK integration: no Lambda runs). */
export const PONG_REPLY = { action: 'pong' } as const;
/** The API's answer to any other message (its `$default` route), so a mistaken client is told. */
export const UNKNOWN_ACTION_REPLY = {
  action: 'error',
  message: `unknown action: the only message a client may send is ${JSON.stringify(PING_MESSAGE)}`,
} as const;

/** A reply of the API to a client's message; a notification never has `action`. */
export const apiReplySchema = z.strictObject({ action: z.enum([PONG_REPLY.action, UNKNOWN_ACTION_REPLY.action]), message: z.optional(z.string()) });
export type ApiReply = z.infer<typeof apiReplySchema>;

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
