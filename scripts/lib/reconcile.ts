/**
 * `npm run reconcile`: starts the executions of run requests that are still ACCEPTED long after
 * they arrived, whatever lost them (a stream record past its 24 hours, a dead-letter message
 * deleted by hand, a mapping disabled for a while). The table is the source of truth here, so
 * this finds what `npm run redrive` can no longer read from the stream.
 *
 * Each execution is started through start-execution's own {@link startExecution}: same
 * deterministic name, same input, ExecutionAlreadyExists counted as success; a request whose run
 * already exists is never started twice.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type RunRequestStatus, runRequestSchema } from '../../contract';
import { executionNameFor, runRequestFromItem, startExecution } from '../../lambdas/start-execution/core';
import { EXIT, UsageError, errorText, integerOption, regionOption, requiredOption, requireRegion, SHARED_OPTIONS } from './operator-cli';

export interface ReconcileClients {
  readonly dynamodb: DynamoDBClient;
  readonly sfn: SFNClient;
}

export interface ReconcileOptions {
  /** The run-requests table. */
  readonly tableName: string;
  /** The state machine start-execution starts. */
  readonly stateMachineArn: string;
  /**
   * Only requests received longer ago than this are started: younger ones may still be on their
   * way through the stream (the trigger retries a record for up to an hour; a start from both is harmless).
   * @default 15
   */
  readonly olderThanMinutes?: number;
  /** List what would be started; start nothing. @default false */
  readonly dryRun?: boolean;
  /** Items read per Scan page (the Scan's `Limit`). @default - DynamoDB's own: up to 1 MB per page */
  readonly pageSize?: number;
  /** The clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export interface ReconcileSummary {
  /** Items the Scan read (its `ScannedCount`, summed over pages): the whole table. */
  readonly scanned: number;
  /** Items still ACCEPTED and older than the age: what the stream path did not start. */
  readonly candidates: number;
  /** Executions started by this run (or still running from before with the same input: StartExecution is idempotent then). */
  readonly started: number;
  /** Executions that already existed (ExecutionAlreadyExists). */
  readonly alreadyStarted: number;
  /** Candidates whose execution could not be started (or, in a dry run, not even named). */
  readonly failed: number;
}

export type ProgressSink = (line: string) => void;

const ACCEPTED: RunRequestStatus = 'ACCEPTED';

/** The attributes read: every attribute of a run request as the API writes it (they all go into the execution input). */
const RUN_REQUEST_ATTRIBUTES = Object.keys(runRequestSchema.shape);

/**
 * Scans the table for run requests still ACCEPTED and older than the age, and starts each one's
 * execution (or lists it, in a dry run), page by page.
 */
export async function reconcile(clients: ReconcileClients, options: ReconcileOptions, progress: ProgressSink = () => undefined): Promise<ReconcileSummary> {
  const now = (options.now ?? Date.now)();
  const olderThanMinutes = options.olderThanMinutes ?? 15;
  const cutoff = now - olderThanMinutes * 60_000;
  const summary = { scanned: 0, candidates: 0, started: 0, alreadyStarted: 0, failed: 0 };
  const names = Object.fromEntries(RUN_REQUEST_ATTRIBUTES.map((attribute) => [`#${attribute}`, attribute]));
  let exclusiveStartKey: Record<string, AttributeValue> | undefined;
  let page = 0;
  do {
    // A Scan reads, and is billed for, every item of the table: the filter and the projection only
    // shrink the answer. Acceptable for an operator tool run by hand now and then: the table holds
    // only recent requests (finished ones expire by TTL), and an index on status would be written
    // on every status change of every request to serve this rare read.
    const output = await clients.dynamodb.send(
      new ScanCommand({
        TableName: options.tableName,
        ProjectionExpression: Object.keys(names).join(', '),
        FilterExpression: '#status = :accepted AND #receivedAtEpochMs < :cutoff',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall({ ':accepted': ACCEPTED, ':cutoff': cutoff }),
        Limit: options.pageSize,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    page++;
    summary.scanned += output.ScannedCount ?? 0;
    summary.candidates += output.Count ?? 0;
    for (const item of output.Items ?? []) {
      const request = unmarshall(item);
      const receivedAt = typeof request.receivedAtEpochMs === 'number' ? request.receivedAtEpochMs : undefined;
      const age = receivedAt === undefined ? 'age unknown' : `${Math.floor((now - receivedAt) / 60_000)} min ago`;
      const about = `${request.runRequestID} (${request.processname ?? 'no processname'}, received ${request.receivedAt ?? '?'}, ${age})`;
      try {
        if (options.dryRun) {
          progress(`${about}: would start execution ${executionNameFor(String(request.runRequestID ?? ''))}`);
          continue;
        }
        const result = await startExecution(runRequestFromItem(request), { sfn: clients.sfn, stateMachineArn: options.stateMachineArn });
        if (result.alreadyStarted) {
          summary.alreadyStarted++;
          progress(`${about}: execution ${result.executionName} already exists`);
        } else {
          summary.started++;
          progress(`${about}: started ${result.executionArn ?? result.executionName}`);
        }
      } catch (err) {
        summary.failed++;
        progress(`${about}: FAILED ${errorText(err)}`);
      }
    }
    exclusiveStartKey = output.LastEvaluatedKey;
    if (exclusiveStartKey !== undefined) progress(`page ${page}: ${summary.scanned} items scanned so far, ${summary.candidates} candidates`);
  } while (exclusiveStartKey !== undefined);
  return summary;
}

export const RECONCILE_USAGE = `usage: npm run reconcile -- --table-name NAME --state-machine-arn ARN [--older-than-minutes 15] [--dry-run] [--region REGION]

Scans the run-requests table for requests still ACCEPTED that arrived longer ago than the age, and
starts each one's execution (deterministic names: a request whose run exists is not started again).`;

/** The options `npm run reconcile` takes (node:util parseArgs), as docs/operations.md lists them. */
export const RECONCILE_OPTIONS = {
  'table-name': { type: 'string' },
  'older-than-minutes': { type: 'string' },
  ...SHARED_OPTIONS,
} as const;

/** The command line's options: the reconcile's, and the clients' region. */
export interface ReconcileCliOptions extends ReconcileOptions {
  /** The region of the stack. @default - the SDK's: AWS_REGION, else the profile's region */
  readonly region?: string;
}

/** The options of `npm run reconcile`, from its arguments. */
export function reconcileOptionsFromArgs(args: readonly string[]): ReconcileCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: RECONCILE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  return {
    tableName: requiredOption('table-name', values['table-name'] as string | undefined),
    stateMachineArn: requiredOption('state-machine-arn', values['state-machine-arn'] as string | undefined),
    // At least a minute: a request just posted is start-execution's to start. At most a year.
    olderThanMinutes: integerOption('older-than-minutes', values['older-than-minutes'] as string | undefined, 1, 525_600, 15),
    dryRun: values['dry-run'] === true,
    region: regionOption(values.region as string | undefined),
  };
}

/**
 * The CLI: parses the arguments, builds clients with default settings (the standard credential
 * chain, AWS_REGION, AWS_ENDPOINT_URL_*), prints a line per candidate and the summary as JSON.
 * Returns the exit code: 0 when every candidate's execution exists, 2 when one failed, 1 on an error.
 */
export async function runReconcileCli(args: readonly string[], print: ProgressSink = console.log, printError: ProgressSink = console.error): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    print(RECONCILE_USAGE);
    return EXIT.ok;
  }
  let options: ReconcileCliOptions;
  try {
    options = reconcileOptionsFromArgs(args);
  } catch (err) {
    printError(`${(err as Error).message}\n\n${RECONCILE_USAGE}`);
    return EXIT.error;
  }
  const clients: ReconcileClients = { dynamodb: new DynamoDBClient({ region: options.region }), sfn: new SFNClient({ region: options.region }) };
  try {
    await requireRegion(clients.sfn, options.stateMachineArn);
    if (options.dryRun) print('dry run: nothing is started');
    const summary = await reconcile(clients, options, print);
    print(JSON.stringify(summary));
    return summary.failed === 0 ? EXIT.ok : EXIT.incomplete;
  } catch (err) {
    // A missing region is the user's to set: one line saying how, not the AWS error form.
    printError(err instanceof UsageError ? `reconcile: ${err.message}` : `reconcile of table ${options.tableName} stopped: ${errorText(err)}`);
    return EXIT.error;
  } finally {
    clients.dynamodb.destroy();
    clients.sfn.destroy();
  }
}
