/**
 * Local mode with EventBridge misbehaving as it may: every event lost (the safety-net check finds
 * the job's end), or every event repeated and late, out of order (the execution is woken once;
 * that each status is recorded once is asserted on the item in __tests__/orchestration/events.test.ts).
 */
import { LocalProcess, startLocalProcess } from '../helpers/local-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function runToEnd(local: LocalProcess, message: string): Promise<Json> {
  const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ processname: 'sample', clientname: 'faults', parameters: { message } }) });
  const { runRequestID } = (await response.json()) as Json;
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const body = (await (await fetch(`${local.runRequestsUrl}/${runRequestID}`)).json()) as Json;
    if (['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT'].includes(body.status)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${runRequestID} did not end in 30 s`);
}

describe('local mode, every event lost', () => {
  let local: LocalProcess;
  // The safety net's first check after 900 s x 0.002 = 1.8 s.
  beforeAll(async () => {
    local = await startLocalProcess('events-lost', undefined, ['--wait-scale', '0.002', '--batch-status-delay-ms', '20', '--events-lost', '1']);
  }, 90_000);
  afterAll(async () => local?.stop());

  it("ends the run at the safety net's check, with one DescribeJobs call", async () => {
    const final = await runToEnd(local, 'lost');
    await local.idle();
    const state = await local.state();

    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect(state.events).toMatchObject({ delivered: 0, lost: 2 });
    expect(state.batchCalls).toMatchObject({ DescribeJobs: 1 });
  });
});

describe('local mode, every event repeated and late', () => {
  let local: LocalProcess;
  beforeAll(async () => {
    local = await startLocalProcess('events-repeated', undefined, ['--wait-scale', '0.01', '--batch-status-delay-ms', '20', '--events-repeated', '1', '--events-delay-ms', '200']);
  }, 90_000);
  afterAll(async () => local?.stop());

  it('ends the run once, from the first of the repeated end events, without a DescribeJobs call', async () => {
    const final = await runToEnd(local, 'repeated');
    await local.idle();
    const state = await local.state();
    const sfnLog = local.log.filter((line) => line.includes('"execution succeeded"'));

    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect(state.events).toMatchObject({ delivered: 4, repeated: 2 });
    expect(state.batchCalls).not.toHaveProperty('DescribeJobs');
    expect(sfnLog).toHaveLength(1);
  });
});
