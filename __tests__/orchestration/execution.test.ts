/**
 * The synthesized state machine, executed: definition from the default stack's Terraform JSON,
 * Tasks bound to the real handlers, the table in dynalite, Batch scripted, time simulated.
 */
import { BatchClient, SubmitJobCommand } from '@aws-sdk/client-batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { runRouteStateName, STATE } from '../../modules/orchestration/definition';
import { recordSubmitIntent } from '../../lambdas/shared/run-requests-table';
import { FIXED_TRANSITIONS } from '../../modules/orchestration/polling-cost';
import {
  execute,
  FakeBatch,
  SNS_PUBLISH,
  Handler,
  JobScript,
  loadHandlers,
  putAcceptedRequest,
  readItem,
  SimulatedClock,
  startTable,
  TABLE_NAME,
  synthesizedOrchestration,
} from '../helpers/orchestration-harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

// The polling loop: every route here learns of its job's end by polling (events.test.ts: by events).
const { definition, bundleOfTask } = synthesizedOrchestration({ completion: 'poll' });
let table: { client: DynamoDBClient; endpoint: string; close: () => Promise<void> };
let handlers: Record<string, Handler>;
let batch: FakeBatch;
let clock: SimulatedClock;
/** The script the next submitted job follows. */
let nextScript: JobScript;

beforeAll(async () => {
  table = await startTable();
  handlers = loadHandlers(table.endpoint);
});

afterAll(async () => {
  await table.close();
});

beforeEach(() => {
  nextScript = { statuses: ['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED'], exitCode: 0 };
  batch = new FakeBatch(() => nextScript);
  clock = new SimulatedClock();
  clock.install();
});

afterEach(() => {
  batch.restore();
  clock.uninstall();
});

async function run(request: Json, options?: Parameters<typeof execute>[5]) {
  const input = await putAcceptedRequest(table.client, request);
  const outcome = await execute(definition, bundleOfTask, handlers, clock, input, options);
  return { ...outcome, item: await readItem(table.client, request.runRequestID) };
}

const statusesOf = (item: Json): string[] => (item.statusHistory as { status: string }[]).map((h) => h.status);

describe('orchestration, executed', () => {
  it('binds every Task to a function of the stack (or the SNS integration)', () => {
    expect(bundleOfTask).toEqual({
      [STATE.recordRejection]: 'record-status',
      'Start barcode': 'record-status',
      'Run barcode': 'generate-barcode',
      [STATE.recordRouteSuccess]: 'record-status',
      [STATE.recordRouteTimeout]: 'record-status',
      [STATE.submit]: 'submit-job',
      [STATE.awaitJob]: 'await-job',
      [STATE.poll]: 'poll-job',
      [STATE.recordFailure]: 'record-status',
      [STATE.alert]: SNS_PUBLISH,
      [STATE.notify]: 'notify',
      [STATE.recordNotificationFailure]: 'record-status',
    });
  });

  it('runs a job to SUCCEEDED after several polls, recording every status change once', async () => {
    const id = randomUUID();

    const { result, error, item, states } = await run({ runRequestID: id, processname: 'sample', parameters: { message: 'hi' } });

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ runRequestID: id, job: { status: 'SUCCEEDED', exitCode: 0, pollCount: 4 } });
    expect(item).toMatchObject({ status: 'SUCCEEDED', jobId: 'job-1', exitCode: 0 });
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(item.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(item.expiresAt).toBeLessThan(1e11); // seconds, not milliseconds
    expect(batch.submitCalls).toBe(1);
    expect(batch.describeCalls).toBe(4);
    const submitted = [...batch.jobs.values()][0].input;
    expect(submitted).toMatchObject({ jobName: `sample-${id}`, parameters: { message: 'hi' }, tags: { runRequestID: id, route: 'sample' } });
    expect(states.filter((s) => s === STATE.wait)).toHaveLength(4);
    // The count the polling-cost benchmark assumes: fixed transitions (less the notify Task: no client here) and 3 per poll.
    expect(states).toHaveLength(FIXED_TRANSITIONS - 1 + 3 * 4);
  });

  it("records a Batch job that ends FAILED with Batch's reason and exit code; the execution, which did its work, succeeds", async () => {
    nextScript = { statuses: ['RUNNABLE', 'RUNNING', 'FAILED'], exitCode: 3, statusReason: 'Essential container in task exited' };
    const id = randomUUID();

    const { error, result, item, states } = await run({ runRequestID: id, processname: 'sample' });

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ notification: { status: 'FAILED', error: { code: 'JOB_FAILED' } } });
    expect(states[states.length - 1]).toBe(STATE.jobFailed);
    expect(item).toMatchObject({ status: 'FAILED', exitCode: 3, reason: 'Essential container in task exited' });
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNABLE', 'RUNNING', 'FAILED']);
  });

  it("tells a user's failed job from a gateway fault: both record FAILED, only the fault fails the execution (ExecutionsFailed)", async () => {
    nextScript = { statuses: ['RUNNING', 'FAILED'], exitCode: 1, statusReason: 'Essential container in task exited' };
    const jobFailed = await run({ runRequestID: randomUUID(), processname: 'sample' });
    const fault = await run(
      { runRequestID: randomUUID(), processname: 'sample' },
      { before: { [STATE.poll]: () => { throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' }); } } },
    );

    expect({ execution: jobFailed.error?.name ?? 'SUCCEEDED', recorded: jobFailed.item.status }).toEqual({ execution: 'SUCCEEDED', recorded: 'FAILED' });
    expect({ execution: fault.error?.name ?? 'SUCCEEDED', recorded: fault.item.status }).toEqual({ execution: 'OrchestrationFailed', recorded: 'FAILED' });
    expect(fault.item.reason).toBe('orchestration error: AccessDeniedException');
  });

  it('REJECTS a request whose processname matches no route, with the reason, and submits nothing', async () => {
    const id = randomUUID();

    const { error, result, item } = await run({ runRequestID: id, processname: 'no-such-route' });

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: { status: 'REJECTED', recorded: true } });
    expect(item).toMatchObject({ status: 'REJECTED', reason: 'no route for processname no-such-route' });
    expect(item.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(batch.submitCalls).toBe(0);
  });

  it('REJECTS a request without processname instead of crashing on the Choice', async () => {
    const id = randomUUID();

    const { error, item, states } = await run({ runRequestID: id, processname: undefined });

    expect(error).toBeUndefined();
    expect(states).toContain(STATE.rejectMissing);
    expect(item).toMatchObject({ status: 'REJECTED', reason: 'the request has no processname' });
  });

  it('ends a job stuck in RUNNABLE at its maximum run time as TIMED_OUT and terminates it', async () => {
    nextScript = { statuses: ['RUNNABLE'] };
    const id = randomUUID();

    const { error, item } = await run({ runRequestID: id, processname: 'sample' });

    expect(error).toBeUndefined();
    expect(item.status).toBe('TIMED_OUT');
    expect(item.reason).toMatch(/^maximum run time of 3600 s exceeded while RUNNABLE$/);
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNABLE', 'TIMED_OUT']);
    // The default stack's sample route terminates a timed-out job.
    expect([...batch.jobs.values()][0].terminated).toMatch(/maximum run time/);
    // Polls stop at the deadline: no poll is scheduled past it.
    expect(batch.describeCalls).toBeLessThanOrEqual(25);
  });

  it('retries a throttled SubmitJob with backoff and submits exactly once', async () => {
    batch.throttleSubmits = 3;
    const id = randomUUID();

    const { error, item, retries } = await run({ runRequestID: id, processname: 'sample' });

    expect(error).toBeUndefined();
    expect(batch.submitCalls).toBe(4);
    expect(batch.jobs.size).toBe(1);
    expect(retries).toEqual([STATE.submit, STATE.submit, STATE.submit]);
    expect(item.status).toBe('SUCCEEDED');
  });

  it('retries a Lambda service error of the poll and goes on', async () => {
    let failures = 1;
    const id = randomUUID();

    const { error, item, retries } = await run(
      { runRequestID: id, processname: 'sample' },
      {
        before: {
          [STATE.poll]: () => {
            if (failures-- > 0) throw Object.assign(new Error('Lambda is unavailable'), { name: 'Lambda.ServiceException' });
          },
        },
      },
    );

    expect(error).toBeUndefined();
    expect(item.status).toBe('SUCCEEDED');
    expect(retries).toEqual([STATE.poll]);
  });

  // AWS documents a function's timeout as Lambda.Unknown (Step Functions error handling) and as
  // Sandbox.Timedout (the Lambda integration's errors): both must mean the same thing.
  it.each(['Lambda.Unknown', 'Sandbox.Timedout'])('retries an orchestration function that timed out (%s) and goes on', async (name) => {
    let timeouts = 1;
    const id = randomUUID();

    const { error, item, retries } = await run(
      { runRequestID: id, processname: 'sample' },
      {
        before: {
          [STATE.poll]: () => {
            if (timeouts-- > 0) throw Object.assign(new Error('Task timed out after 90.00 seconds'), { name });
          },
        },
      },
    );

    expect(error).toBeUndefined();
    expect(item.status).toBe('SUCCEEDED');
    expect(retries).toEqual([STATE.poll]);
  });

  it.each(['Lambda.Unknown', 'Sandbox.Timedout'])("records a route function that timed out (%s) as TIMED_OUT, without retrying it", async (name) => {
    let calls = 0;
    const id = randomUUID();

    const { error, item, retries } = await run(
      { runRequestID: id, processname: 'barcode', parameters: { text: 'ABC-123' } },
      {
        before: {
          [runRouteStateName('barcode')]: () => {
            calls++;
            throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name });
          },
        },
      },
    );

    // A recorded outcome ends the execution well (a Succeed state): only the gateway's own faults fail it.
    expect(error).toBeUndefined();
    expect(calls).toBe(1);
    expect(retries).toEqual([]);
    expect(item).toMatchObject({ status: 'TIMED_OUT', reason: 'maximum run time of 30 s exceeded' });
  });

  it('records FAILED with a sanitized reason when a step keeps failing, before the execution fails', async () => {
    const id = randomUUID();

    const { error, item } = await run(
      { runRequestID: id, processname: 'sample' },
      {
        before: {
          [STATE.submit]: () => {
            throw Object.assign(new Error('secret internals at /var/task/index.js:1:2'), { name: 'ConfigurationError' });
          },
        },
      },
    );

    expect(error?.name).toBe('OrchestrationFailed');
    expect(item.status).toBe('FAILED');
    expect(item.reason).toBe('orchestration error: ConfigurationError');
    expect(JSON.stringify(item)).not.toContain('/var/task');
    expect(batch.submitCalls).toBe(0);
  });

  it('replays an execution that finds the jobId recorded without submitting again', async () => {
    const id = randomUUID();
    const first = await run({ runRequestID: id, processname: 'sample' });
    expect(first.item.status).toBe('SUCCEEDED');

    // The same request again (a redrive, or a retried execution): the item already has its jobId.
    const replay = await execute(definition, bundleOfTask, handlers, clock, { runRequestID: id, processname: 'sample', status: 'ACCEPTED' });
    const item = await readItem(table.client, id);

    expect(replay.error).toBeUndefined();
    expect(replay.result).toMatchObject({ job: { jobId: 'job-1', status: 'SUCCEEDED' } });
    expect(batch.submitCalls).toBe(1);
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  });

  it('adopts the job a crashed attempt submitted but never recorded', async () => {
    const id = randomUUID();
    let crashes = 1;
    // The first attempt records its intent and submits, then dies before recording the job (as a Lambda timeout would).
    const { error, item } = await run(
      { runRequestID: id, processname: 'sample' },
      {
        before: {
          [STATE.submit]: async () => {
            if (crashes-- > 0) {
              await recordSubmitIntent(id, `sample-${id}`, { ddb: table.client, tableName: TABLE_NAME, now: () => Date.now() });
              await new BatchClient({ region: 'us-east-1' }).send(new SubmitJobCommand({ jobName: `sample-${id}`, jobQueue: 'q', jobDefinition: 'd' }));
              throw Object.assign(new Error('Task timed out after 60.00 seconds'), { name: 'Lambda.Unknown' });
            }
          },
        },
      },
    );

    expect(error).toBeUndefined();
    expect(batch.jobs.size).toBe(1);
    expect(item).toMatchObject({ status: 'SUCCEEDED', jobId: 'job-1' });
    expect(item.submitIntentAt).toEqual(expect.any(String));
  });
});
