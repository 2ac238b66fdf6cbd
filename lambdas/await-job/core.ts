/**
 * The execution waits on a job's end here (events completion): the task token it waits on is
 * stored on the run request for job-events to send the outcome with. A job that ended before the
 * token was stored is already recorded on the item: then the outcome is sent at once.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { AwaitJobInput } from '../../contract';
import { InvalidInputError } from '../shared/aws-errors';
import { wakeAwaitingExecution } from '../shared/job-completion';
import { type RunRequestsTableDeps, storeAwaitToken } from '../shared/run-requests-table';

export interface AwaitJobDeps extends RunRequestsTableDeps {
  readonly sfn: SFNClient;
}

export interface AwaitJobResult {
  /** True when the job had ended already and the execution was woken at once. */
  readonly woken: boolean;
}

export async function awaitJob(input: AwaitJobInput, deps: AwaitJobDeps): Promise<AwaitJobResult> {
  const item = await storeAwaitToken(input.runRequestID, input.jobId, input.taskToken, deps);
  // The state machine hands over the job submit-job recorded: another one means a definition bug.
  if (!item) throw new InvalidInputError(`await-job: run request ${input.runRequestID} does not record job ${input.jobId}`);
  return { woken: await wakeAwaitingExecution(item, deps.sfn, Math.floor(deps.now() / 1000)) };
}
