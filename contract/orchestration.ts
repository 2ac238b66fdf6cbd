/**
 * What the state machine hands its orchestration functions and keeps of their answers. A
 * mismatch is a definition bug: the handlers parse their input with these schemas at the door.
 */
import * as z from 'zod/mini';
import { NOTIFICATION_ERROR_CODES } from './notification';
import { batchRouteSchema } from './route';
import { RUN_REQUEST_STATUSES } from './run-request';

const nonEmpty = () => z.string().check(z.minLength(1));

/** What submit-job and poll-job return, kept by the state machine at `$.job`. */
export const jobStateSchema = z.object({
  jobId: nonEmpty(),
  jobName: nonEmpty(),
  status: z.enum(RUN_REQUEST_STATUSES),
  submittedAtEpochS: z.int(),
  deadlineEpochS: z.int(),
  pollCount: z.int().check(z.gte(0)),
  /** Seconds the state machine waits before the next poll. */
  waitSeconds: z.int().check(z.gte(1)),
  /** Batch attempts made so far. */
  attempts: z._default(z.int().check(z.gte(0)), 0),
  reason: z.optional(z.string()),
  exitCode: z.optional(z.int()),
  alreadySubmitted: z.optional(z.boolean()),
});
export type JobState = z.infer<typeof jobStateSchema>;

/** What await-job receives: the token the execution waits on until the job's end is known. */
export const awaitJobInputSchema = z.object({
  runRequestID: nonEmpty(),
  jobId: nonEmpty(),
  taskToken: nonEmpty(),
});
export type AwaitJobInput = z.infer<typeof awaitJobInputSchema>;

/** The fields of the run request every orchestration Task receives. */
export const runRequestRefSchema = z.object({
  runRequestID: nonEmpty(),
  processname: nonEmpty(),
  parameters: z.optional(z.record(z.string(), z.string())),
});

export const submitInputSchema = z.extend(runRequestRefSchema, { route: batchRouteSchema });
export type SubmitInput = z.infer<typeof submitInputSchema>;

export const pollInputSchema = z.extend(runRequestRefSchema, { route: batchRouteSchema, job: jobStateSchema });
export type PollInput = z.infer<typeof pollInputSchema>;

/** The statuses the state machine decides itself and has record-status write. */
export const DECIDED_STATUSES = ['REJECTED', 'FAILED', 'TIMED_OUT', 'RUNNING', 'SUCCEEDED'] as const;

/** record-status: a status decided by the state machine (REJECTED, FAILED and TIMED_OUT need a reason)... */
export const recordStatusInputSchema = z.object({
  runRequestID: nonEmpty(),
  status: z.enum(DECIDED_STATUSES),
  reason: z.optional(nonEmpty()),
  /** A Lambda route's result (SUCCEEDED): its `url` and `expiresAt`, when it has them, are kept for GET. */
  result: z.optional(z.looseObject({ url: z.optional(z.unknown()), expiresAt: z.optional(z.unknown()) })),
});
/** ...or a notification that could not be sent. */
export const recordNotificationFailureInputSchema = z.object({
  runRequestID: nonEmpty(),
  notification: z.literal('FAILED'),
  reason: nonEmpty(),
});

/** How a run ended, as the state machine hands it to notify (`$.notification`). */
export const notificationSchema = z.object({
  status: z.enum(RUN_REQUEST_STATUSES),
  url: z.optional(nonEmpty()),
  error: z.optional(z.object({ code: z.enum(NOTIFICATION_ERROR_CODES), message: z.string() })),
});
export type Notification = z.infer<typeof notificationSchema>;

export const notifyInputSchema = z.object({
  runRequestID: nonEmpty(),
  clientId: nonEmpty(),
  /** Who posted the run request (the item's `callerIdentity`). */
  callerIdentity: nonEmpty(),
  notification: notificationSchema,
});
export type NotifyInput = z.infer<typeof notifyInputSchema>;
