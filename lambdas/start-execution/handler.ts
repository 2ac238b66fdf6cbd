/**
 * Lambda adapter for the run-requests table stream: starts one execution per inserted run request
 * and reports each record that failed by its SequenceNumber, so only those are retried.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ENV } from '../../contract';
import { requireEnv } from '../shared/errors';
import { logger } from '../shared/logger';
import { startExecutionForRecord, type StartExecutionDeps } from './core';

// Default settings so AWS_REGION, AWS_MAX_ATTEMPTS and AWS_ENDPOINT_URL_SFN apply; the SDK's standard retries absorb throttling.
const sfn = new SFNClient({});
const processor = new BatchProcessor(EventType.DynamoDBStreams);

// Read on first invocation, not at import, so tests can set it first and a missing value fails the
// whole invocation (a configuration fault) rather than every record one by one.
let deps: StartExecutionDeps | undefined;
function getDeps(): StartExecutionDeps {
  deps ??= { sfn, stateMachineArn: requireEnv(ENV.stateMachineArn) };
  return deps;
}

async function recordHandler(record: DynamoDBRecord): Promise<void> {
  // Records run in parallel, so per-record keys go on the line rather than into the shared logger's keys.
  const recordKeys = { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber };
  try {
    const result = await startExecutionForRecord(record, getDeps());
    if (result.skipped) {
      logger.warn('Record skipped', { ...recordKeys, eventName: result.eventName, reason: result.reason });
      return;
    }
    logger.info(result.alreadyStarted ? 'Execution already started' : 'Execution started', {
      ...recordKeys,
      runRequestID: result.runRequestID,
      executionName: result.executionName,
      executionArn: result.executionArn,
    });
  } catch (err) {
    logger.error('Could not start execution', { ...recordKeys, error: err as Error });
    throw err;
  }
}

export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  getDeps();
  // Replayed records after a partial failure are harmless: execution names are deterministic.
  return processPartialResponse(event, recordHandler, processor, { context });
}
