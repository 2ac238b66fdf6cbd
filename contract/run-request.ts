/**
 * The run request: what the REST API writes into the run-requests table, the status vocabulary,
 * and the rules a request's fields follow. The API's request model, its mapping template, the
 * handlers and the tests all take their names and limits from here.
 */
import * as z from 'zod/mini';

/** Every status a run request can have, in the order a Batch run moves through them. */
export const RUN_REQUEST_STATUSES = ['ACCEPTED', 'REJECTED', 'SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const;
export type RunRequestStatus = (typeof RUN_REQUEST_STATUSES)[number];

/** Statuses after which nothing changes: each carries the run's outcome. */
export const TERMINAL_STATUSES = ['REJECTED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const satisfies readonly RunRequestStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** The statuses AWS Batch reports for a job (DescribeJobs). */
export const BATCH_JOB_STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const satisfies readonly RunRequestStatus[];

export function isTerminal(status: RunRequestStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly RunRequestStatus[]).includes(status);
}

/** The table's hash key: API Gateway's request id of the POST. */
export const RUN_REQUEST_KEY = 'runRequestID';
/** TTL attribute (epoch seconds), set once a request is finished. */
export const RUN_REQUEST_TTL_ATTRIBUTE = 'expiresAt';

/**
 * `Idempotency-Key` (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): a caller that
 * sends the same key with the same body again, within the window, is answered the run its first
 * POST started, and nothing new starts. Keys are the caller's own: another identity's same key is
 * another run.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** 1 to 64 characters: letters, digits and `_ . : -`. */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9_.:-]{1,64}$';
/** How long a key is remembered: 24 hours from the POST that first used it. */
export const IDEMPOTENCY_WINDOW_SECONDS = 86_400;
/**
 * Where the table keeps a key: two items beside the run requests, keyed
 * `idempotency-key/<key>/<caller>/body` and `.../run` (a key holds no `/` and the suffix is fixed, so
 * each names one key of one caller; no GET path can name them, a path parameter holding no `/`). They hold no `status`, so no stream consumer takes them for a run.
 */
export const IDEMPOTENCY_ITEM_PREFIX = 'idempotency-key/';
/** The item that holds the first body under a key (a repeat with another body is refused). */
export const IDEMPOTENCY_BODY_SUFFIX = '/body';
/** The item that holds the run a key started (`keyedRunRequestID`). */
export const IDEMPOTENCY_RUN_SUFFIX = '/run';

/** A processname (and a route's name): letters and digits first, then `_ . -` too. */
export const PROCESSNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
/** A client id for notifications (the REST body and the WebSocket query string). */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9_.:-]+$';
/** A job parameter's name (Batch's `Ref::name`). */
export const PARAMETER_NAME_PATTERN = '^[A-Za-z0-9_]{1,64}$';
/** Free text: no control characters. */
export const PRINTABLE_TEXT_PATTERN = '^[^\\u0000-\\u001f\\u007f]+$';
/** A parameter's value: free text, possibly empty, no control characters. */
export const PARAMETER_VALUE_PATTERN = '^[^\\u0000-\\u001f\\u007f]*$';

/**
 * Field lengths (characters) and counts the API accepts. Parameters are bounded so that the
 * largest request still fits Batch's 30 KiB SubmitJob payload (see modules/orchestration/limits.ts).
 */
export const RUN_REQUEST_LIMITS = {
  processname: 128,
  clientname: 256,
  timestamp: 64,
  clientId: 128,
  parameters: 16,
  parameterValue: 400,
} as const;

const stringMap = () => z.record(z.string(), z.string());

/** A run request as the API writes it (optional fields are absent, never empty). */
export const runRequestSchema = z.object({
  runRequestID: z.string().check(z.minLength(1)),
  /** Selects the route. */
  processname: z.string().check(z.minLength(1)),
  /** Name of the calling system. */
  clientname: z.string(),
  /** The caller's own timestamp, kept as given. */
  timestamp: z.optional(z.string()),
  /** Flat map of strings passed to the job. */
  parameters: z.optional(stringMap()),
  /** Client id for notifications. */
  clientId: z.optional(z.string()),
  /** The `Idempotency-Key` the request was posted with. */
  idempotencyKey: z.optional(z.string()),
  /** Who posted the request: the SigV4 caller's ARN, or `apikey:<id>` with API-key auth. */
  callerIdentity: z.string(),
  status: z.enum(RUN_REQUEST_STATUSES),
  /** When API Gateway received the request, ISO 8601 UTC (second precision). */
  receivedAt: z.string(),
  /** The same, epoch milliseconds. */
  receivedAtEpochMs: z.number(),
});
export type RunRequest = z.infer<typeof runRequestSchema>;

/** One entry of an item's `statusHistory`. */
export const statusHistoryEntrySchema = z.object({ status: z.enum(RUN_REQUEST_STATUSES), at: z.string(), reason: z.optional(z.string()) });
export type StatusHistoryEntry = z.infer<typeof statusHistoryEntrySchema>;

/** What the outcome of a notification is recorded as (see notify). */
export const NOTIFICATION_OUTCOMES = ['SENT', 'NO_CONNECTION', 'FAILED'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

/** The whole item: the request plus what the orchestration writes on it. */
export const runRequestItemSchema = z.extend(runRequestSchema, {
  /** Orders writes: a status is written only over a smaller number. */
  statusProgress: z.optional(z.number()),
  updatedAt: z.optional(z.string()),
  statusHistory: z.optional(z.array(statusHistoryEntrySchema)),
  /** Why the current status (a Batch or route reason), one printable line. */
  reason: z.optional(z.string()),
  jobId: z.optional(z.string()),
  jobName: z.optional(z.string()),
  exitCode: z.optional(z.number()),
  /** The link to the run's result a Lambda route returned, and when it stops working (ISO 8601 and epoch ms). */
  resultUrl: z.optional(z.string()),
  resultUrlExpiresAt: z.optional(z.string()),
  resultUrlExpiresAtEpochMs: z.optional(z.number()),
  submittedAtEpochS: z.optional(z.number()),
  /** When the run's deadline passes (TIMED_OUT), epoch seconds. */
  deadlineEpochS: z.optional(z.number()),
  /** When an attempt to submit the job began: a later attempt that finds it without a jobId looks the job up. */
  submitIntentAt: z.optional(z.string()),
  /** The task token the execution waits on for the job's end (events completion). */
  awaitTaskToken: z.optional(z.string()),
  [RUN_REQUEST_TTL_ATTRIBUTE]: z.optional(z.number()),
  notification: z.optional(z.enum(NOTIFICATION_OUTCOMES)),
  notifiedAt: z.optional(z.string()),
  notifiedConnections: z.optional(z.number()),
  notificationError: z.optional(z.string()),
});
export type RunRequestItem = z.infer<typeof runRequestItemSchema>;
