/**
 * `Idempotency-Key` end to end in local mode: the POST's real mapping templates, its
 * TransactWriteItems (local/dynamodb-transactions.ts over dynalite), the stream's filter and the
 * pipeline behind it. A repeat never starts a second execution or job.
 */
import { LocalProcess, startLocalProcess } from '../helpers/local-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** POSTs per wave of the burst test (IDEMPOTENCY_BURST=200 for the figure in the notes). */
const BURST = Number(process.env.IDEMPOTENCY_BURST ?? 40);

let local: LocalProcess;

beforeAll(async () => {
  local = await startLocalProcess('idempotency', undefined, ['--wait-scale', '0.01', '--batch-status-delay-ms', '20']);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

/** POSTs `body` with `key`; on a 429 (the stage's throttle) it retries with the same key, as a client should. */
async function post(body: unknown, key?: string): Promise<{ status: number; body: Json }> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(local.runRequestsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const answer = { status: response.status, body: (await response.json()) as Json };
    if (answer.status !== 429 || attempt >= 20) return answer;
    await new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 4) * Math.random()));
  }
}

const state = async () => (await local.state()) as Json;

describe('POST with an Idempotency-Key, in local mode', () => {
  it('answers a repeat with the first run (200, replayed), starting nothing more', async () => {
    const body = { processname: 'sample', clientname: 'idem', parameters: { message: 'once' } };
    const first = await post(body, 'nightly-1');
    await local.idle();
    const before = await state();

    const repeat = await post(body, 'nightly-1');
    await local.idle();
    const after = await state();

    expect(first).toMatchObject({ status: 202, body: { status: 'ACCEPTED', runRequestID: expect.any(String) } });
    expect(repeat).toEqual({ status: 200, body: { runRequestID: first.body.runRequestID, replayed: true, receivedAt: expect.any(String), requestId: expect.any(String) } });
    expect(after.executionsStarted).toBe(before.executionsStarted);
    expect(after.batchCalls.SubmitJob ?? 0).toBe(before.batchCalls.SubmitJob ?? 0);
    const run = await fetch(`${local.runRequestsUrl}/${first.body.runRequestID}`).then((r) => r.json() as Promise<Json>);
    expect(run).toMatchObject({ status: 'SUCCEEDED', idempotencyKey: 'nightly-1' });
  });

  it('refuses another body under a live key with 422, and keeps the first run', async () => {
    const first = await post({ processname: 'sample', clientname: 'idem', parameters: { message: 'a' } }, 'nightly-2');
    const other = await post({ processname: 'sample', clientname: 'idem', parameters: { message: 'b' } }, 'nightly-2');
    const again = await post({ processname: 'sample', clientname: 'idem', parameters: { message: 'a' } }, 'nightly-2');

    expect(first.status).toBe(202);
    expect(other).toEqual({ status: 422, body: { message: 'this Idempotency-Key was used with another body in the last 24 hours: send that body again, or use a new key', requestId: expect.any(String) } });
    expect(again).toMatchObject({ status: 200, body: { runRequestID: first.body.runRequestID, replayed: true } });
  });

  it('refuses an invalid key with 400 and the rule, storing nothing', async () => {
    await local.idle();
    const before = await state();
    const refused = await post({ processname: 'sample', clientname: 'idem' }, 'no spaces allowed');
    await local.idle();

    expect(refused).toEqual({ status: 400, body: { message: 'invalid Idempotency-Key header: 1 to 64 characters of A-Z a-z 0-9 _ . : -', requestId: expect.any(String) } });
    expect((await state()).executionsStarted).toBe(before.executionsStarted);
  });

  it('keeps POSTs without a key as they were: each one a run', async () => {
    const body = { processname: 'sample', clientname: 'idem' };
    const [a, b] = [await post(body), await post(body)];

    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.runRequestID).not.toBe(b.body.runRequestID);
  });

  it(`makes one run per key of a burst of ${BURST} POSTs sent twice at once (a run and a job each)`, async () => {
    await local.idle();
    const before = await state();
    const keys = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const bodyOf = (i: number) => ({ processname: 'sample', clientname: 'idem-burst', parameters: { message: `run ${i}` } });

    const started = Date.now();
    const answers = await Promise.all([...keys, ...keys].map((key, i) => post(bodyOf(i % BURST), key)));
    const answeredMs = Date.now() - started;
    await local.idle();
    const after = await state();
    if (process.env.IDEMPOTENCY_BURST) console.log(`${2 * BURST} POSTs answered in ${answeredMs} ms; ${answers.filter((a) => a.status === 200).length} replays`);

    const byKey = new Map<string, Set<string>>();
    answers.forEach((a, i) => byKey.set(keys[i % BURST], (byKey.get(keys[i % BURST]) ?? new Set()).add(a.body.runRequestID)));
    expect(answers.filter((a) => ![200, 202].includes(a.status))).toEqual([]);
    expect(answers.filter((a) => a.status === 202)).toHaveLength(BURST);
    expect([...byKey.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(after.executionsStarted - before.executionsStarted).toBe(BURST);
    expect((after.batchCalls.SubmitJob ?? 0) - (before.batchCalls.SubmitJob ?? 0)).toBe(BURST);
  }, 120_000);
});
