/**
 * Routes that learn of their job's end from Batch's events, executed: the synthesized definition
 * waits on a task token (await-job stores it), the job's state changes reach the real job-events
 * handler as EventBridge delivers them (promptly, before the wait, repeated and out of order, or
 * not at all), and the safety-net checks find what the events did not bring.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { recordSubmitIntent } from '../../lambdas/shared/run-requests-table';
import { STATE } from '../../modules/orchestration/definition';
import { FIXED_TRANSITIONS } from '../../modules/orchestration/polling-cost';
import {
  EventDelivery,
  execute,
  FakeBatch,
  FakeTaskTokens,
  Handler,
  JobScript,
  loadHandlers,
  putAcceptedRequest,
  readItem,
  SimulatedClock,
  startTable,
  synthesizedOrchestration,
  TABLE_NAME,
} from '../helpers/orchestration-harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

// The default stack as configured: its Batch routes complete by events.
const { definition, bundleOfTask } = synthesizedOrchestration();
let table: { client: DynamoDBClient; endpoint: string; close: () => Promise<void> };
let handlers: Record<string, Handler>;
let batch: FakeBatch;
let tokens: FakeTaskTokens;
let clock: SimulatedClock;
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
  tokens = new FakeTaskTokens();
  clock = new SimulatedClock();
  clock.install();
});

afterEach(() => {
  batch.restore();
  tokens.restore();
  clock.uninstall();
});

async function run(delivery: EventDelivery, request: Json = {}) {
  const runRequestID = randomUUID();
  const input = await putAcceptedRequest(table.client, { runRequestID, processname: 'sample', ...request });
  const handled: Json[] = [];
  const startedAt = Date.now();
  const outcome = await execute(definition, bundleOfTask, handlers, clock, input, { events: { batch, tokens, delivery, handled } });
  return { ...outcome, handled, elapsedSeconds: (Date.now() - startedAt) / 1000, item: await readItem(table.client, runRequestID) };
}

const statusesOf = (item: Json): string[] => (item.statusHistory as { status: string }[]).map((h) => h.status);

describe('events completion, executed', () => {
  it('completes a job from its events alone: no DescribeJobs, one wake-up, two transitions past the submit', async () => {
    const { error, result, item, states, handled } = await run('prompt', { parameters: { message: 'hi' } });
    // One Batch call in the common case: no ListJobs before the submit.
    expect(batch.listCalls).toBe(0);

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ job: { jobId: 'job-1', status: 'SUCCEEDED', exitCode: 0 } });
    expect(item).toMatchObject({ status: 'SUCCEEDED', jobId: 'job-1', exitCode: 0 });
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNING', 'SUCCEEDED']);
    expect(batch.submitCalls).toBe(1);
    expect(batch.describeCalls).toBe(0);
    expect(tokens.sendCalls).toBe(1);
    expect(handled.map((h) => [h.status, h.recorded, h.woken])).toEqual([
      ['RUNNING', true, false],
      ['SUCCEEDED', true, true],
    ]);
    expect(states).not.toContain(STATE.poll);
    expect(states).not.toContain(STATE.wait);
    // The count the benchmark assumes: fixed transitions (less the notify Task: no client here), the await and its Choice.
    expect(states).toHaveLength(FIXED_TRANSITIONS - 1 + 2);
  });

  it('records the end of a job that FAILED with its reason and exit code; the execution succeeds', async () => {
    nextScript = { statuses: ['RUNNABLE', 'RUNNING', 'FAILED'], exitCode: 3, statusReason: 'Essential container in task exited' };

    const { error, item } = await run('prompt');

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'FAILED', exitCode: 3, reason: 'Essential container in task exited' });
    expect(batch.describeCalls).toBe(0);
  });

  it('wakes at once when the job ended before the execution stored its token', async () => {
    nextScript = { statuses: ['SUCCEEDED'], exitCode: 0 };

    const { error, item, handled } = await run('before-await');

    expect(error).toBeUndefined();
    expect(item.status).toBe('SUCCEEDED');
    // job-events recorded the end but found no token; await-job found the end and sent it.
    expect(handled).toEqual([expect.objectContaining({ status: 'SUCCEEDED', recorded: true, woken: false })]);
    expect(tokens.sendCalls).toBe(1);
    expect(batch.describeCalls).toBe(0);
  });

  it("takes a job's end whose events came before submit-job recorded the job: the event records the job by its name", async () => {
    const { error, item, handled, states } = await run('before-recorded');

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'SUCCEEDED', jobId: 'job-1' });
    // SUBMITTED came too late to be recorded: the job had already run.
    expect(statusesOf(item)).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(handled.map((h) => [h.status, h.recorded])).toEqual([
      ['RUNNING', true],
      ['SUCCEEDED', true],
    ]);
    expect(batch.describeCalls).toBe(0);
    expect(states).not.toContain(STATE.poll);
  });

  it('recovers from a crash between the intent and SubmitJob with one job: the next attempt looks, finds none, submits', async () => {
    const runRequestID = randomUUID();
    const input = await putAcceptedRequest(table.client, { runRequestID, processname: 'sample' });
    let crashes = 1;

    const { error } = await execute(definition, bundleOfTask, handlers, clock, input, {
      events: { batch, tokens, delivery: 'prompt' },
      before: {
        // The first attempt records its intent, then dies before SubmitJob (as a Lambda timeout would).
        [STATE.submit]: async () => {
          if (crashes-- > 0) {
            await recordSubmitIntent(runRequestID, `sample-${runRequestID}`, { ddb: table.client, tableName: TABLE_NAME, now: () => Date.now() });
            throw Object.assign(new Error('Task timed out after 60.00 seconds'), { name: 'Lambda.Unknown' });
          }
        },
      },
    });
    const item = await readItem(table.client, runRequestID);

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'SUCCEEDED', jobId: 'job-1' });
    expect(batch.listCalls).toBe(1);
    expect(batch.submitCalls).toBe(1);
    expect(batch.jobs.size).toBe(1);
  });

  it('changes nothing for repeated and out-of-order events: each status once, one wake-up', async () => {
    const { error, item, handled } = await run('repeated');

    expect(error).toBeUndefined();
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNING', 'SUCCEEDED']);
    expect(handled).toHaveLength(6);
    expect(handled.filter((h) => h.recorded)).toHaveLength(2);
    expect(handled.filter((h) => h.woken)).toHaveLength(1);
    // The repeated end finds the token spent: Step Functions refuses it, job-events ignores the refusal.
    expect(tokens.refused).toBe(1);
    expect(item.status).toBe('SUCCEEDED');
  });

  it('finds the end of a job whose events were lost at the first safety-net check, 15 minutes on', async () => {
    nextScript = { statuses: ['SUCCEEDED'], exitCode: 0 };

    const { error, item, states, elapsedSeconds } = await run('lost');

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect(batch.describeCalls).toBe(1);
    expect(states.filter((s) => s === STATE.poll)).toHaveLength(1);
    expect(states.filter((s) => s === STATE.awaitJob)).toHaveLength(1);
    expect(elapsedSeconds).toBe(900);
  });

  it('ends a job that never runs at its maximum run time as TIMED_OUT, with checks at 15, 45 and 60 minutes', async () => {
    nextScript = { statuses: ['RUNNABLE'] };

    const { error, item, elapsedSeconds } = await run('prompt');

    expect(error).toBeUndefined();
    expect(item.status).toBe('TIMED_OUT');
    expect(item.reason).toBe('maximum run time of 3600 s exceeded while RUNNABLE');
    expect([...batch.jobs.values()][0].terminated).toMatch(/maximum run time/);
    expect(batch.describeCalls).toBe(3);
    expect(elapsedSeconds).toBe(3600);
  });

  it('keeps waiting after a safety-net check finds the job still running, and takes its end from the event', async () => {
    // The first check sees RUNNABLE (the job had not started); then the job runs and its events arrive.
    let awaits = 0;
    const script: JobScript = { statuses: ['RUNNABLE', 'RUNNING', 'SUCCEEDED'], exitCode: 0 };
    nextScript = script;
    const runRequestID = randomUUID();
    const input = await putAcceptedRequest(table.client, { runRequestID, processname: 'sample' });
    const handled: Json[] = [];
    const { error, states } = await execute(definition, bundleOfTask, handlers, clock, input, {
      // The first wait times out (no event yet); the second gets the events.
      before: { [STATE.awaitJob]: () => void awaits++ },
      events: {
        batch,
        tokens,
        handled,
        get delivery(): EventDelivery {
          return awaits <= 1 ? 'lost' : 'prompt';
        },
      },
    });
    const item = await readItem(table.client, runRequestID);

    expect(error).toBeUndefined();
    expect(states.filter((s) => s === STATE.awaitJob)).toHaveLength(2);
    expect(item.status).toBe('SUCCEEDED');
    expect(statusesOf(item)).toEqual(['SUBMITTED', 'RUNNABLE', 'RUNNING', 'SUCCEEDED']);
  });
});
