/**
 * Starts one Step Functions execution per run request. Pure: the SFN client and the state
 * machine ARN come in as parameters. The stream adapter reads the request from a record's new
 * image; the operator tools (reconcile, redrive) start requests they read themselves.
 */
import { createHash } from 'node:crypto';
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { type RunRequest, runRequestSchema } from '../../contract';
import { InvalidRecordError } from '../shared/errors';
import { describeIssues } from '../shared/parse-input';

/** What {@link startExecution} needs from its caller. */
export interface StartExecutionDeps {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
}

/** An INSERT record whose execution now exists, started by this call or by an earlier delivery. */
export interface ExecutionStarted {
  readonly skipped: false;
  readonly runRequestID: string;
  readonly executionName: string;
  /** @default - undefined when the execution already existed (the API does not return its ARN then) */
  readonly executionArn?: string;
  /** True when a previous delivery of the same record had already started the execution. */
  readonly alreadyStarted: boolean;
}

/** A record that is not an INSERT: nothing was started. */
export interface RecordSkipped {
  readonly skipped: true;
  readonly eventName?: string;
  readonly reason: string;
}

export type StartExecutionResult = ExecutionStarted | RecordSkipped;

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_EXECUTION_NAME_LENGTH = 80;
const HASH_SUFFIX_LENGTH = 12;

/**
 * A deterministic Step Functions execution name for a run request: the same id always gives the
 * same name, which is what makes a replayed stream record start nothing new.
 *
 * Ids that are already valid names (API Gateway request ids are UUIDs) are used unchanged so an
 * execution is found by its run request id. Any other id is sanitised and truncated, then suffixed
 * with a hash of the original id so two ids never collapse onto one name.
 */
export function executionNameFor(runRequestID: string): string {
  if (runRequestID.length === 0) {
    throw new InvalidRecordError('runRequestID is empty: cannot derive an execution name');
  }
  if (EXECUTION_NAME.test(runRequestID)) {
    return runRequestID;
  }
  const hash = createHash('sha256').update(runRequestID, 'utf8').digest('hex').slice(0, HASH_SUFFIX_LENGTH);
  const prefix = runRequestID
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, MAX_EXECUTION_NAME_LENGTH - HASH_SUFFIX_LENGTH - 1);
  return `${prefix}-${hash}`;
}

/** The run request carried by a stream record's new image, checked against the contract. */
export function runRequestFromRecord(record: DynamoDBRecord): RunRequest {
  const where = `stream record ${record.eventID ?? '(no eventID)'} (SequenceNumber ${record.dynamodb?.SequenceNumber ?? 'unknown'})`;
  const newImage = record.dynamodb?.NewImage;
  if (newImage === undefined) {
    throw new InvalidRecordError(`${where} has no dynamodb.NewImage: the stream must use NEW_IMAGE or NEW_AND_OLD_IMAGES`);
  }
  let item: Record<string, unknown>;
  try {
    // aws-lambda's stream AttributeValue and the SDK's describe the same wire format with different TypeScript shapes.
    item = unmarshall(newImage as Record<string, AttributeValue>);
  } catch (err) {
    throw new InvalidRecordError(`${where} has a NewImage that cannot be unmarshalled`, { cause: err });
  }
  return runRequestFromItem(item, where);
}

/** A table item (or a record's image) as a run request; InvalidRecordError names what is wrong. */
export function runRequestFromItem(item: Record<string, unknown>, where = `item ${String(item.runRequestID)}`): RunRequest {
  const parsed = z.safeParse(runRequestSchema, item);
  if (!parsed.success) throw new InvalidRecordError(`${where} is not a run request: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/**
 * Starts the execution of one run request, named after it. Throttling and transient faults are
 * retried inside the SDK (standard retry strategy: exponential backoff with full jitter); what
 * still fails is thrown.
 */
export async function startExecution(runRequest: RunRequest, deps: StartExecutionDeps): Promise<ExecutionStarted> {
  const executionName = executionNameFor(runRequest.runRequestID);
  try {
    const output = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name: executionName,
        input: JSON.stringify(runRequest),
      }),
    );
    return { skipped: false, runRequestID: runRequest.runRequestID, executionName, executionArn: output.executionArn, alreadyStarted: false };
  } catch (err) {
    // Names are deterministic, so this means an earlier delivery of this request already started
    // it (the name is now closed or the input differs); a replayed request must not fail.
    if (err instanceof Error && err.name === 'ExecutionAlreadyExists') {
      return { skipped: false, runRequestID: runRequest.runRequestID, executionName, alreadyStarted: true };
    }
    throw err;
  }
}

/** Starts the execution for one stream record: INSERT records only. */
export async function startExecutionForRecord(record: DynamoDBRecord, deps: StartExecutionDeps): Promise<StartExecutionResult> {
  // The event source mapping filters to INSERT; this guards against a mapping deployed without the filter.
  if (record.eventName !== 'INSERT') {
    return { skipped: true, eventName: record.eventName, reason: 'only INSERT records start an execution' };
  }
  return startExecution(runRequestFromRecord(record), deps);
}
