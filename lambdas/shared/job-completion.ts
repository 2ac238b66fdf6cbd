/**
 * How an execution that waits on a job (events completion) is woken: the task token it waits on
 * is stored on the run request, and whoever finds the job's outcome recorded there and the token
 * beside it sends the outcome. Both sides check after their own write (job-events after recording
 * the outcome, await-job after storing the token), so an outcome recorded before the token was
 * stored is not missed; a token already used or timed out is simply refused by Step Functions.
 */
import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { JobState, RunRequestItem } from '../../contract';
import { surfaceAwsError } from './aws-errors';
import { logger } from './logger';

/** Batch's own outcomes: what an event or a poll records (TIMED_OUT is the deadline's, decided by poll-job). */
export function batchOutcomeOf(item: RunRequestItem | undefined): 'SUCCEEDED' | 'FAILED' | undefined {
  return item?.status === 'SUCCEEDED' || item?.status === 'FAILED' ? item.status : undefined;
}

/** The job state the state machine keeps at `$.job`, from a run request whose job ended. */
export function jobStateFromItem(item: RunRequestItem, status: 'SUCCEEDED' | 'FAILED', nowS: number): JobState {
  const submittedAtEpochS = item.submittedAtEpochS ?? nowS;
  return {
    jobId: item.jobId!,
    jobName: item.jobName ?? item.jobId!,
    status,
    submittedAtEpochS,
    deadlineEpochS: item.deadlineEpochS ?? submittedAtEpochS,
    pollCount: 0,
    waitSeconds: 1,
    attempts: 0,
    ...(item.reason !== undefined ? { reason: item.reason } : {}),
    ...(item.exitCode !== undefined ? { exitCode: item.exitCode } : {}),
  };
}

/** Errors that mean the token is spent: the execution moved on (woken already, or timed out into its safety-net check). */
const SPENT_TOKEN = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/**
 * Wakes the execution waiting on `item`'s token when the item records the job's outcome. Returns
 * whether an execution was woken now.
 */
export async function wakeAwaitingExecution(item: RunRequestItem | undefined, sfn: SFNClient, nowS: number): Promise<boolean> {
  const outcome = batchOutcomeOf(item);
  if (!item || !outcome || !item.awaitTaskToken || !item.jobId) return false;
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken: item.awaitTaskToken, output: JSON.stringify(jobStateFromItem(item, outcome, nowS)) }));
    return true;
  } catch (err) {
    const name = (err as Error).name;
    if (SPENT_TOKEN.has(name)) {
      logger.info('The waiting task had moved on already', { runRequestID: item.runRequestID, reason: name });
      return false;
    }
    return surfaceAwsError(err, 'SendTaskSuccess');
  }
}
