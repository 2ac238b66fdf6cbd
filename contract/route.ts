/**
 * Routes as the state machine carries them (`$.route`), and the contract of a Lambda route's
 * function: what it receives and what it must return.
 */
import * as z from 'zod/mini';

const nonEmpty = () => z.string().check(z.minLength(1));
const stringMap = () => z.record(z.string(), z.string());

/**
 * The tag submit-job puts on every job it submits, valued with the job's queue ARN: TerminateJob
 * is allowed only on jobs that carry their gateway queue's tag.
 */
export const JOB_QUEUE_TAG = 'batch-gateway:job-queue';

/** Every tag key submit-job puts on a job, and the only ones its role may set (batch:TagResource). */
export const JOB_TAG_KEYS = ['runRequestID', 'route', JOB_QUEUE_TAG] as const;

/** A route's name: a processname of at most 64 characters. */
export const ROUTE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

/**
 * The polling schedule of a running job: waits grow geometrically from `initialSeconds` by
 * `multiplier` up to `maxSeconds`, and never run past the route's deadline.
 */
export const pollingScheduleSchema = z.object({
  /** First wait after submission. */
  initialSeconds: z.number().check(z.positive()),
  /** Growth factor of each next wait (>= 1). */
  multiplier: z.number().check(z.gte(1)),
  /** Cap of a wait: the worst-case delay between a job ending and its status being recorded. */
  maxSeconds: z.number().check(z.positive()),
});
export type PollingSchedule = z.infer<typeof pollingScheduleSchema>;

/** The schedule of a route that learns of its job's end by polling alone: finished jobs are seen within 4 minutes. */
export const DEFAULT_POLLING: PollingSchedule = { initialSeconds: 30, multiplier: 1.5, maxSeconds: 240 };

/**
 * The safety net of a route that learns of its job's end from Batch's events: a first check
 * after 15 minutes, then every 30, for the events that are late or lost.
 */
export const DEFAULT_EVENT_SAFETY_NET: PollingSchedule = { initialSeconds: 900, multiplier: 2, maxSeconds: 1800 };

/**
 * How a Batch route learns that its job ended: `events` from Batch's job state changes (within
 * seconds), with polling on a long schedule as the safety net; or `poll` alone, for accounts
 * that cannot use EventBridge.
 */
export const COMPLETION_MODES = ['events', 'poll'] as const;
export type CompletionMode = (typeof COMPLETION_MODES)[number];

/** The EventBridge events Batch emits for a job's status changes (at least once, in no guaranteed order). */
export const BATCH_JOB_STATE_CHANGE = { source: 'aws.batch', detailType: 'Batch Job State Change' } as const;

/**
 * The statuses whose events reach job-events: the job running, and its end. The queueing
 * statuses in between are seen by the safety-net checks, at no cost per job.
 */
export const JOB_EVENT_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED'] as const;

/**
 * Seconds to wait before poll number `pollCount` (0 = the first poll after submission): the
 * schedule's geometric wait, capped, never past the deadline. Short jobs are seen finishing
 * quickly; long jobs cost a few calls an hour instead of one a minute.
 */
export function waitSecondsFor(pollCount: number, schedule: PollingSchedule, secondsUntilDeadline = Infinity): number {
  const geometric = schedule.initialSeconds * schedule.multiplier ** pollCount;
  const wait = Math.min(geometric, schedule.maxSeconds, secondsUntilDeadline);
  // Step Functions waits whole seconds; a poll right at the deadline still happens.
  return Math.max(1, Math.ceil(wait));
}

/** A Batch route: submit-job and poll-job read it. */
export const batchRouteSchema = z.object({
  type: z.literal('batch'),
  name: nonEmpty(),
  jobQueue: nonEmpty(),
  /** Job definition name (SubmitJob takes its latest active revision). */
  jobDefinition: nonEmpty(),
  /** Job parameters the request's own override. */
  parameters: z._default(stringMap(), {}),
  /** From submission to the end of the run: past it the request is TIMED_OUT. */
  maxRunTimeSeconds: z.int().check(z.positive()),
  terminateOnTimeout: z._default(z.boolean(), false),
  completion: z._default(z.enum(COMPLETION_MODES), 'events'),
  /** When the job is checked: the whole loop with `poll`, the safety net with `events`. */
  polling: pollingScheduleSchema,
  /** Bucket the job may write its artifacts to (under `<runRequestID>/`). */
  artifactsBucket: z.optional(nonEmpty()),
});
export type BatchRouteState = z.infer<typeof batchRouteSchema>;

/** A Lambda route: its function runs once, for work that takes seconds. */
export const lambdaRouteSchema = z.object({
  type: z.literal('lambda'),
  name: nonEmpty(),
  functionArn: nonEmpty(),
  maxRunTimeSeconds: z.int().check(z.positive()),
});
export type LambdaRouteState = z.infer<typeof lambdaRouteSchema>;

export type RouteState = BatchRouteState | LambdaRouteState;

/** What a Lambda route's function receives. */
export const lambdaRouteInputSchema = z.object({
  runRequestID: nonEmpty(),
  processname: nonEmpty(),
  parameters: z._default(stringMap(), {}),
  /** Where the function may put its results: `prefix` is `<runRequestID>/`. */
  artifacts: z.optional(z.object({ bucket: nonEmpty(), prefix: nonEmpty() })),
});
export type LambdaRouteInput = z.infer<typeof lambdaRouteInputSchema>;

/**
 * What a Lambda route's function returns: `ok: true` (with a link to its artifact, if any), or
 * `ok: false` with a message for the client (bad input: the request ends REJECTED). Anything
 * thrown is an error of the function (retried when transient, else FAILED).
 */
export const lambdaRouteResultSchema = z.union([
  z.object({ ok: z.literal(true), url: z.optional(nonEmpty()) }),
  z.object({ ok: z.literal(false), code: nonEmpty(), message: nonEmpty() }),
]);
export type LambdaRouteResult = z.infer<typeof lambdaRouteResultSchema>;
