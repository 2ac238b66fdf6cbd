/**
 * `npm run redrive`: starts the executions of run requests whose stream records the event source
 * mapping gave up on.
 *
 * The mapping's on-failure destination receives batch metadata, not records: which shard, and the
 * first and last sequence numbers of the failed batch. This reads those records back from the
 * stream (kept 24 hours), keeps the INSERTs and starts each one's execution exactly as
 * start-execution does ({@link startExecutionForRecord}: same deterministic name, same input), so
 * a redrive can never start a run twice. A message is deleted only when every record of its batch
 * is handled; otherwise it stays, returns after the queue's visibility timeout, and the tool says why.
 */
import { parseArgs } from 'node:util';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamApiRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { executionNameFor, runRequestFromRecord, startExecutionForRecord } from '../../lambdas/start-execution/core';
import { EXIT, UsageError, errorText, integerOption, regionOption, requiredOption, requireRegion, SHARED_OPTIONS } from './operator-cli';

/** The clients the redrive uses; the CLI builds them with default settings. */
export interface RedriveClients {
  readonly sqs: SQSClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sfn: SFNClient;
}

export interface RedriveOptions {
  /** The on-failure (dead-letter) queue of the stream trigger. */
  readonly queueUrl: string;
  /** The state machine start-execution starts. */
  readonly stateMachineArn: string;
  /**
   * Only messages about this table's stream are redriven; any other is left in the queue and reported.
   * @default - messages about any table's stream
   */
  readonly tableName?: string;
  /** List what would be started; start nothing, delete nothing. @default false */
  readonly dryRun?: boolean;
  /** Messages handled at most in one run. @default 100 */
  readonly maxMessages?: number;
  /** Long-polling wait of each receive (0..20 s); the run ends at the first receive that brings no new message. @default 5 */
  readonly waitTimeSeconds?: number;
}

/** Totals of one run. Records are counted per record read from the stream within the batches. */
export interface RedriveSummary {
  /** Messages received and handled (each once, even when the queue returns it again). */
  readonly messages: number;
  /** Stream records read back within the messages' batches. */
  readonly records: number;
  /** Executions started by this run (or still running from before with the same input: StartExecution is idempotent then). */
  readonly started: number;
  /** Executions that already existed (ExecutionAlreadyExists): the run was started before. */
  readonly alreadyStarted: number;
  /** Records that are not INSERTs (a status update): they start nothing. */
  readonly skipped: number;
  /** INSERT records whose execution could not be started (or, in a dry run, not even named). */
  readonly failed: number;
  /** Messages deleted because every record of their batch is handled. */
  readonly deleted: number;
  /**
   * Messages whose records could not be read back: the stream no longer holds them (trimmed after
   * 24 hours, or an expired iterator), the shard or stream is gone, or the body is not an on-failure record.
   */
  readonly unreadable: number;
}

/** Receives one progress line per message. */
export type ProgressSink = (line: string) => void;

/** Where a failed batch lies in the stream: the `DDBStreamBatchInfo` of an on-failure record. */
export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord?: string;
  readonly approximateArrivalOfLastRecord?: string;
  readonly batchSize?: number;
  readonly streamArn: string;
}

/** The on-failure record an event source mapping sends for a DynamoDB stream batch it gave up on. */
export interface StreamFailureRecord {
  readonly requestContext?: {
    readonly requestId?: string;
    readonly functionArn?: string;
    /** Why the mapping gave up, e.g. `RetryAttemptsExhausted` or `RecordAgeExceeded`. */
    readonly condition?: string;
    readonly approximateInvokeCount?: number;
  };
  readonly responseContext?: Record<string, unknown>;
  readonly version?: string;
  readonly timestamp?: string;
  readonly DDBStreamBatchInfo: StreamBatchInfo;
}

/** An SQS message body that is not an on-failure record of a DynamoDB stream mapping. */
export class InvalidFailureRecordError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidFailureRecordError';
  }
}

/** The stream no longer gives the batch's records: they can only be found in the table now (`npm run reconcile`). */
export class StreamRecordsUnavailableError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StreamRecordsUnavailableError';
  }
}

/** Reading stopped before the batch's last record; what was read may not be the whole batch. */
export class IncompleteBatchError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IncompleteBatchError';
  }
}

const SEQUENCE_NUMBER = /^\d{1,40}$/;

/** Parses and checks an SQS message body; throws {@link InvalidFailureRecordError} naming what is wrong. */
export function parseFailureRecord(body: string | undefined): StreamFailureRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch (err) {
    throw new InvalidFailureRecordError('the message body is not JSON', { cause: err });
  }
  const info = (parsed as { DDBStreamBatchInfo?: Record<string, unknown> } | null)?.DDBStreamBatchInfo;
  if (typeof info !== 'object' || info === null) {
    throw new InvalidFailureRecordError('the message body has no DDBStreamBatchInfo: it is not an on-failure record of a DynamoDB stream mapping');
  }
  for (const field of ['shardId', 'streamArn'] as const) {
    if (typeof info[field] !== 'string' || info[field] === '') {
      throw new InvalidFailureRecordError(`DDBStreamBatchInfo.${field} is missing or not a string`);
    }
  }
  for (const field of ['startSequenceNumber', 'endSequenceNumber'] as const) {
    if (typeof info[field] !== 'string' || !SEQUENCE_NUMBER.test(info[field] as string)) {
      throw new InvalidFailureRecordError(`DDBStreamBatchInfo.${field} must be a sequence number of 1 to 40 digits (got ${JSON.stringify(info[field])})`);
    }
  }
  if (BigInt(info.startSequenceNumber as string) > BigInt(info.endSequenceNumber as string)) {
    throw new InvalidFailureRecordError(`DDBStreamBatchInfo.startSequenceNumber ${info.startSequenceNumber} is after endSequenceNumber ${info.endSequenceNumber}`);
  }
  return parsed as StreamFailureRecord;
}

/** The table a stream ARN belongs to (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`). */
export function tableNameOfStream(streamArn: string): string | undefined {
  return /:table\/([^/]+)\/stream\//.exec(streamArn)?.[1];
}

/** Errors that mean the stream will never give these records again. */
const STREAM_GONE = new Set([
  // The sequence number is older than the stream's 24-hour retention.
  'TrimmedDataAccessException',
  // The iterator outlived its 15 minutes; the records behind it are usually past retention too.
  'ExpiredIteratorException',
  // The shard or the stream no longer exists (shards are deleted 24 hours after they close).
  'ResourceNotFoundException',
]);

/**
 * Open shards can answer with empty pages before the next record; after this many in a row
 * without reaching the batch's end, reading stops rather than polling a quiet shard forever.
 */
const MAX_EMPTY_PAGES = 10;
/** A batch holds at most 10,000 records (the mapping's largest batch size): far fewer pages than this. */
const MAX_PAGES = 1_000;

/**
 * The records of a failed batch, read back from its shard: from `startSequenceNumber` (inclusive)
 * to `endSequenceNumber` (inclusive), or to the end of a closed shard. Includes every event in the
 * range, also those the mapping's filter kept from the function (MODIFY).
 */
export async function readBatchRecords(streams: DynamoDBStreamsClient, info: StreamBatchInfo): Promise<StreamApiRecord[]> {
  const start = BigInt(info.startSequenceNumber);
  const end = BigInt(info.endSequenceNumber);
  const where = `${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber}`;
  const records: StreamApiRecord[] = [];
  try {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: info.streamArn,
          ShardId: info.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: info.startSequenceNumber,
        }),
      )
    ).ShardIterator;
    let emptyPages = 0;
    for (let page = 0; iterator !== undefined; page++) {
      if (page >= MAX_PAGES) throw new IncompleteBatchError(`${where}: ${MAX_PAGES} pages read without reaching the end of the batch`);
      const output = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const record of output.Records ?? []) {
        const sequence = BigInt(record.dynamodb?.SequenceNumber ?? '0');
        if (sequence > end) return records;
        if (sequence >= start) records.push(record);
        if (sequence === end) return records;
      }
      emptyPages = (output.Records ?? []).length === 0 ? emptyPages + 1 : 0;
      if (emptyPages >= MAX_EMPTY_PAGES) {
        throw new IncompleteBatchError(`${where}: ${MAX_EMPTY_PAGES} empty pages in a row before the end of the batch (${records.length} records read)`);
      }
      iterator = output.NextShardIterator;
    }
  } catch (err) {
    if (err instanceof Error && STREAM_GONE.has(err.name)) {
      throw new StreamRecordsUnavailableError(`${where}: the stream no longer holds these records (${err.name}; a stream keeps records 24 hours)`, { cause: err });
    }
    throw err;
  }
  // A closed shard ended without the batch's last record: never expected, so do not call the batch complete.
  throw new IncompleteBatchError(`${where}: the shard ended before endSequenceNumber (${records.length} records read)`);
}

type LambdaImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * A record as GetRecords returns it, in the shape a Lambda stream event carries (what
 * {@link startExecutionForRecord} takes): the same fields, the creation time in epoch seconds.
 */
export function toLambdaRecord(record: StreamApiRecord, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    userIdentity: record.userIdentity,
    dynamodb:
      stream === undefined
        ? undefined
        : {
            ApproximateCreationDateTime: stream.ApproximateCreationDateTime === undefined ? undefined : Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000),
            // The SDK's and aws-lambda's AttributeValue types describe the same wire format differently.
            Keys: stream.Keys as LambdaImage | undefined,
            NewImage: stream.NewImage as LambdaImage | undefined,
            OldImage: stream.OldImage as LambdaImage | undefined,
            SequenceNumber: stream.SequenceNumber,
            SizeBytes: stream.SizeBytes,
            StreamViewType: stream.StreamViewType,
          },
  };
}

/** What happened to one message. */
export interface MessageOutcome {
  readonly messageId: string;
  /** `deleted`: every record handled; `kept`: left in the queue (see `reason`); `listed`: a dry run. */
  readonly disposition: 'deleted' | 'kept' | 'listed';
  readonly reason?: string;
  readonly condition?: string;
  readonly records: number;
  readonly started: readonly string[];
  readonly alreadyStarted: readonly string[];
  /** In a dry run: the executions that would be started (or found already started). */
  readonly wouldStart: readonly string[];
  readonly skipped: number;
  /** `<runRequestID or record>: <error>` per INSERT that could not be started. */
  readonly failed: readonly string[];
  readonly unreadable: boolean;
}

type MutableOutcome = { -readonly [K in keyof MessageOutcome]: MessageOutcome[K] extends readonly (infer T)[] ? T[] : MessageOutcome[K] };

/** Handles one message: reads its batch back, starts the INSERTs' executions, deletes it when all are handled. */
export async function redriveMessage(message: Message, clients: RedriveClients, options: RedriveOptions): Promise<MessageOutcome> {
  const outcome: MutableOutcome = {
    messageId: message.MessageId ?? '(no MessageId)',
    disposition: options.dryRun ? 'listed' : 'kept',
    records: 0,
    started: [],
    alreadyStarted: [],
    wouldStart: [],
    skipped: 0,
    failed: [],
    unreadable: false,
  };
  let info: StreamBatchInfo;
  let records: StreamApiRecord[];
  try {
    const failure = parseFailureRecord(message.Body);
    outcome.condition = failure.requestContext?.condition;
    info = failure.DDBStreamBatchInfo;
    const table = tableNameOfStream(info.streamArn);
    if (options.tableName !== undefined && table !== options.tableName) {
      outcome.reason = `its batch is from the stream of table ${table ?? `(unknown: ${info.streamArn})`}, not ${options.tableName}: left alone`;
      return outcome;
    }
    records = await readBatchRecords(clients.streams, info);
  } catch (err) {
    outcome.unreadable = err instanceof InvalidFailureRecordError || err instanceof StreamRecordsUnavailableError;
    outcome.reason =
      err instanceof StreamRecordsUnavailableError
        ? `${err.message}: run \`npm run reconcile\` to start any request of this batch that is still ACCEPTED`
        : errorText(err);
    return outcome;
  }

  outcome.records = records.length;
  if (records.length === 0) {
    outcome.reason = 'the stream holds no record within the batch\'s sequence numbers';
    return outcome;
  }
  for (const apiRecord of records) {
    const record = toLambdaRecord(apiRecord, info.streamArn);
    if (record.eventName !== 'INSERT') {
      outcome.skipped++;
      continue;
    }
    try {
      if (options.dryRun) {
        outcome.wouldStart.push(executionNameFor(runRequestFromRecord(record).runRequestID));
        continue;
      }
      const result = await startExecutionForRecord(record, { sfn: clients.sfn, stateMachineArn: options.stateMachineArn });
      if (result.skipped) outcome.skipped++;
      else if (result.alreadyStarted) outcome.alreadyStarted.push(result.executionName);
      else outcome.started.push(result.executionName);
    } catch (err) {
      const id = record.dynamodb?.Keys?.runRequestID?.S ?? `record ${record.dynamodb?.SequenceNumber ?? record.eventID ?? '(unknown)'}`;
      outcome.failed.push(`${id}: ${errorText(err)}`);
    }
  }
  if (options.dryRun) return outcome;

  if (outcome.failed.length > 0) {
    outcome.reason = `${outcome.failed.length} of ${records.length} records not started (${outcome.failed.join('; ')}); the message returns after its visibility timeout`;
    return outcome;
  }
  try {
    await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    outcome.disposition = 'deleted';
  } catch (err) {
    // Every record is handled: a message that comes back is redriven again, harmlessly.
    outcome.reason = `every record is handled, but deleting the message failed (${errorText(err)})`;
  }
  return outcome;
}

/** The progress line of one message. */
export function formatOutcome(outcome: MessageOutcome): string {
  const head = `message ${outcome.messageId}${outcome.condition ? ` (${outcome.condition})` : ''}`;
  if (outcome.unreadable || (outcome.records === 0 && outcome.reason !== undefined)) return `${head}: kept: ${outcome.reason}`;
  const counts =
    outcome.disposition === 'listed'
      ? [`${outcome.records} records`, `would start ${outcome.wouldStart.length}${outcome.wouldStart.length ? ` [${outcome.wouldStart.join(', ')}]` : ''}`, `skip ${outcome.skipped}`]
      : [
          `${outcome.records} records`,
          `started ${outcome.started.length}${outcome.started.length ? ` [${outcome.started.join(', ')}]` : ''}`,
          `already started ${outcome.alreadyStarted.length}${outcome.alreadyStarted.length ? ` [${outcome.alreadyStarted.join(', ')}]` : ''}`,
          `skipped ${outcome.skipped}`,
          `failed ${outcome.failed.length}`,
        ];
  if (outcome.disposition === 'listed' && outcome.failed.length > 0) counts.push(`invalid ${outcome.failed.length} (${outcome.failed.join('; ')})`);
  const tail = outcome.disposition === 'deleted' ? 'deleted' : outcome.disposition === 'listed' ? 'dry run: nothing started or deleted' : `kept: ${outcome.reason}`;
  return `${head}: ${counts.join(', ')} -> ${tail}`;
}

/**
 * Receives up to `maxMessages` messages (long polling, up to 10 per receive) and redrives each.
 * Ends at the first receive that brings no message it has not handled yet: a message it kept can
 * come back within the run once the queue's visibility timeout passes, and is not handled twice.
 */
export async function redrive(clients: RedriveClients, options: RedriveOptions, progress: ProgressSink = () => undefined): Promise<RedriveSummary> {
  const maxMessages = options.maxMessages ?? 100;
  const summary = { messages: 0, records: 0, started: 0, alreadyStarted: 0, skipped: 0, failed: 0, deleted: 0, unreadable: 0 };
  const handled = new Set<string>();
  while (summary.messages < maxMessages) {
    const received = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, maxMessages - summary.messages),
        WaitTimeSeconds: options.waitTimeSeconds ?? 5,
      }),
    );
    const fresh = (received.Messages ?? []).filter((m) => !handled.has(m.MessageId ?? ''));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      handled.add(message.MessageId ?? '');
      const outcome = await redriveMessage(message, clients, options);
      summary.messages++;
      summary.records += outcome.records;
      summary.started += outcome.started.length;
      summary.alreadyStarted += outcome.alreadyStarted.length;
      summary.skipped += outcome.skipped;
      summary.failed += outcome.failed.length;
      summary.deleted += outcome.disposition === 'deleted' ? 1 : 0;
      summary.unreadable += outcome.unreadable ? 1 : 0;
      progress(formatOutcome(outcome));
    }
  }
  return summary;
}

export const REDRIVE_USAGE = `usage: npm run redrive -- --queue-url URL --state-machine-arn ARN [--table-name NAME] [--dry-run] [--max-messages N] [--region REGION]

Reads the batches in the stream trigger's on-failure queue back from the table's stream and starts
each new run request's execution (deterministic names: nothing starts twice). A message is deleted
only once every record of its batch is handled.`;

/** The options `npm run redrive` takes (node:util parseArgs), as docs/operations.md lists them. */
export const REDRIVE_OPTIONS = {
  'queue-url': { type: 'string' },
  'table-name': { type: 'string' },
  ...SHARED_OPTIONS,
  'max-messages': { type: 'string' },
} as const;

/** The command line's options: the redrive's, and the clients' region. */
export interface RedriveCliOptions extends RedriveOptions {
  /** The region of the stack. @default - the SDK's: AWS_REGION, else the profile's region */
  readonly region?: string;
}

/** The options of `npm run redrive`, from its arguments. */
export function redriveOptionsFromArgs(args: readonly string[]): RedriveCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: REDRIVE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  return {
    queueUrl: requiredOption('queue-url', values['queue-url'] as string | undefined),
    stateMachineArn: requiredOption('state-machine-arn', values['state-machine-arn'] as string | undefined),
    tableName: values['table-name'] as string | undefined,
    dryRun: values['dry-run'] === true,
    region: regionOption(values.region as string | undefined),
    maxMessages: integerOption('max-messages', values['max-messages'] as string | undefined, 1, 100_000, 100),
  };
}

/**
 * The CLI: parses the arguments, builds clients with default settings (the standard credential
 * chain, AWS_REGION, AWS_ENDPOINT_URL_*), prints a line per message and the summary as JSON.
 * Returns the exit code: 0 when nothing is left, 2 when a message was kept, 1 on an error.
 */
export async function runRedriveCli(args: readonly string[], print: ProgressSink = console.log, printError: ProgressSink = console.error): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    print(REDRIVE_USAGE);
    return EXIT.ok;
  }
  let options: RedriveCliOptions;
  try {
    options = redriveOptionsFromArgs(args);
  } catch (err) {
    printError(`${(err as Error).message}\n\n${REDRIVE_USAGE}`);
    return EXIT.error;
  }
  const config = { region: options.region };
  const clients: RedriveClients = { sqs: new SQSClient(config), streams: new DynamoDBStreamsClient(config), sfn: new SFNClient(config) };
  try {
    await requireRegion(clients.sfn, options.stateMachineArn);
    if (options.dryRun) print('dry run: nothing is started or deleted');
    const summary = await redrive(clients, options, print);
    print(JSON.stringify(summary));
    const complete = options.dryRun || summary.deleted === summary.messages;
    return complete ? EXIT.ok : EXIT.incomplete;
  } catch (err) {
    // A missing region is the user's to set: one line saying how, not the AWS error form.
    printError(err instanceof UsageError ? `redrive: ${err.message}` : `redrive of ${options.queueUrl} stopped: ${errorText(err)}`);
    return EXIT.error;
  } finally {
    clients.sqs.destroy();
    clients.streams.destroy();
    clients.sfn.destroy();
  }
}
