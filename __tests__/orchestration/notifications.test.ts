/**
 * The synthesized state machine through the barcode Lambda route and the notification path:
 * real generate-barcode, notify and record-status handlers, connections in dynalite, the
 * WebSocket management API and S3 as recording stand-ins.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { PNG } from 'pngjs';
import { STATE } from '../../modules/orchestration/definition';
import {
  execute,
  FakeBatch,
  FakeDelivery,
  Handler,
  loadHandlers,
  putAcceptedRequest,
  putConnection,
  readItem,
  SimulatedClock,
  startTable,
  synthesizedOrchestration,
} from '../helpers/orchestration-harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const CALLER = 'arn:aws:sts::111122223333:assumed-role/onprem-scheduler/nightly';
// The polling loop: every route here learns of its job's end by polling (events.test.ts: by events).
const { definition, bundleOfTask } = synthesizedOrchestration({ completion: 'poll' });
let table: { client: DynamoDBClient; endpoint: string; close: () => Promise<void> };
let handlers: Record<string, Handler>;
let batch: FakeBatch;
let delivery: FakeDelivery;
let clock: SimulatedClock;

beforeAll(async () => {
  table = await startTable();
  handlers = loadHandlers(table.endpoint);
});

afterAll(async () => {
  await table.close();
});

beforeEach(() => {
  batch = new FakeBatch(() => ({ statuses: ['RUNNING', 'FAILED'], exitCode: 2, statusReason: 'Essential container in task exited' }));
  delivery = new FakeDelivery();
  clock = new SimulatedClock();
  clock.install();
});

afterEach(() => {
  batch.restore();
  delivery.restore();
  clock.uninstall();
});

async function run(request: Json, options: Parameters<typeof execute>[5] = {}) {
  const input = await putAcceptedRequest(table.client, { callerIdentity: CALLER, ...request });
  const alerts: Json[] = [];
  const outcome = await execute(definition, bundleOfTask, handlers, clock, input, { alerts, ...options });
  return { ...outcome, alerts, item: await readItem(table.client, request.runRequestID) };
}

describe('barcode route, executed', () => {
  it('renders the barcode, records SUCCEEDED, and tells only the poster\'s live connections, once', async () => {
    const id = randomUUID();
    const clientId = `client-${id.slice(0, 8)}`;
    await putConnection(table.client, { connectionId: 'mine', clientId, callerIdentity: CALLER });
    await putConnection(table.client, { connectionId: 'hijacker', clientId, callerIdentity: 'arn:aws:iam::111122223333:user/mallory' });
    await putConnection(table.client, { connectionId: 'stale', clientId, callerIdentity: CALLER, expiresAt: Math.floor(Date.now() / 1000) - 10 });

    const { error, item, states } = await run({ runRequestID: id, processname: 'barcode', clientId, parameters: { text: 'HELLO-123' } });

    expect(error).toBeUndefined();
    expect(states[states.length - 1]).toBe(STATE.succeeded);
    expect(item).toMatchObject({ status: 'SUCCEEDED', notification: 'SENT', notifiedConnections: 1 });
    expect(item.statusHistory.map((h: Json) => h.status)).toEqual(['RUNNING', 'SUCCEEDED']);

    const stored = delivery.objects.get(`${id}/barcode.png`)!;
    expect(stored.contentType).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(stored.body));
    expect(png.width).toBeGreaterThan(png.height);
    expect(png.height).toBeGreaterThan(50);

    expect([...delivery.messages.keys()]).toEqual(['mine']);
    const [message] = delivery.messages.get('mine')!;
    expect(Object.keys(message).sort()).toEqual(['runRequestID', 'status', 'url']);
    expect(message).toMatchObject({ runRequestID: id, status: 'SUCCEEDED' });
    expect(message.url).toContain(`/${id}/barcode.png?`);
    expect(message.url).toContain('X-Amz-Expires=86400');
    // The same link on the item, for GET, with when it stops working.
    expect(item.resultUrl).toBe(message.url);
    expect(item.resultUrlExpiresAtEpochMs - Date.now()).toBeGreaterThan(86_400_000 - 60_000);
    expect(item.resultUrlExpiresAt).toBe(new Date(item.resultUrlExpiresAtEpochMs).toISOString());
  });

  it('REJECTS text Code 128 cannot take, with the reason, and tells the client', async () => {
    const id = randomUUID();
    const clientId = `client-${id.slice(0, 8)}`;
    await putConnection(table.client, { connectionId: `c-${id}`, clientId, callerIdentity: CALLER });

    const { error, item, alerts } = await run({ runRequestID: id, processname: 'barcode', clientId, parameters: { text: 'café' } });

    expect(error).toBeUndefined();
    expect(item.status).toBe('REJECTED');
    expect(item.reason).toMatch(/parameters\.text .*'é'/);
    expect(delivery.objects.size).toBe(0);
    const [message] = delivery.messages.get(`c-${id}`)!;
    expect(message).toEqual({ runRequestID: id, status: 'REJECTED', error: { code: 'REJECTED', message: item.reason } });
    expect(alerts).toEqual([]);
  });

  it('records NO_CONNECTION when the client is not connected, and the run still succeeds', async () => {
    const id = randomUUID();

    const { error, item } = await run({ runRequestID: id, processname: 'barcode', clientId: 'nobody-listening', parameters: { text: 'X' } });

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'SUCCEEDED', notification: 'NO_CONNECTION' });
    expect(delivery.messages.size).toBe(0);
  });

  it('does not notify a request without clientId', async () => {
    const id = randomUUID();

    const { error, item, states } = await run({ runRequestID: id, processname: 'barcode', parameters: { text: 'X' } });

    expect(error).toBeUndefined();
    expect(states).not.toContain(STATE.notify);
    expect(item.notification).toBeUndefined();
  });

  it('retries a failing notification, records it, and never fails a succeeded run for it', async () => {
    const id = randomUUID();

    const { error, item, retries } = await run(
      { runRequestID: id, processname: 'barcode', clientId: 'someone', parameters: { text: 'X' } },
      {
        before: {
          [STATE.notify]: () => {
            throw Object.assign(new Error('throttled'), { name: 'ThrottledError' });
          },
        },
      },
    );

    expect(error).toBeUndefined();
    expect(retries.filter((s) => s === STATE.notify)).toHaveLength(8);
    expect(item).toMatchObject({ status: 'SUCCEEDED', notification: 'FAILED', notificationError: 'notification error: ThrottledError' });
  });
});

describe('failures, alerted and notified', () => {
  it("alerts the failure topic and tells the client when a Batch job fails; the execution succeeds", async () => {
    const id = randomUUID();
    const clientId = `client-${id.slice(0, 8)}`;
    await putConnection(table.client, { connectionId: `c-${id}`, clientId, callerIdentity: CALLER });

    const { error, item, alerts } = await run({ runRequestID: id, processname: 'sample', clientId });

    expect(error).toBeUndefined();
    expect(item).toMatchObject({ status: 'FAILED', exitCode: 2, notification: 'SENT' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0].Message).toBe(`Run request ${id} ended FAILED: Essential container in task exited`);
    expect(delivery.messages.get(`c-${id}`)).toEqual([
      { runRequestID: id, status: 'FAILED', error: { code: 'JOB_FAILED', message: 'Essential container in task exited' } },
    ]);
  });

  it('alerts and notifies an orchestration failure without its cause', async () => {
    const id = randomUUID();
    const clientId = `client-${id.slice(0, 8)}`;
    await putConnection(table.client, { connectionId: `c-${id}`, clientId, callerIdentity: CALLER });

    const { error, alerts } = await run(
      { runRequestID: id, processname: 'sample', clientId },
      { before: { [STATE.submit]: () => { throw Object.assign(new Error('at /var/task/index.js:1'), { name: 'ConfigurationError' }); } } },
    );

    expect(error?.name).toBe('OrchestrationFailed');
    expect(alerts).toHaveLength(1);
    const [message] = delivery.messages.get(`c-${id}`)!;
    expect(message).toEqual({ runRequestID: id, status: 'FAILED', error: { code: 'ORCHESTRATION_ERROR', message: 'orchestration error: ConfigurationError' } });
    expect(JSON.stringify(message)).not.toContain('/var/task');
  });
});

describe('a Lambda route whose function returns less than its contract promises', () => {
  /** The barcode route's Task, answered by a function that returns `result` instead of rendering. */
  async function runWithResult(result: unknown) {
    const id = randomUUID();
    const clientId = `client-${id.slice(0, 8)}`;
    await putConnection(table.client, { connectionId: `c-${id}`, clientId, callerIdentity: CALLER });
    const input = await putAcceptedRequest(table.client, { callerIdentity: CALLER, runRequestID: id, processname: 'barcode', clientId, parameters: { text: 'A' } });
    const outcome = await execute(definition, bundleOfTask, { ...handlers, 'generate-barcode': async () => result }, clock, input);
    return { ...outcome, item: await readItem(table.client, id), messages: delivery.messages.get(`c-${id}`) ?? [] };
  }

  it('SUCCEEDS on {ok: true} without a link, and tells the client without one', async () => {
    const { error, item, messages } = await runWithResult({ ok: true });

    expect(error).toBeUndefined();
    expect(item.status).toBe('SUCCEEDED');
    expect(messages).toEqual([{ runRequestID: item.runRequestID, status: 'SUCCEEDED' }]);
  });

  it.each([
    ['{ok: false} without a message', { ok: false, code: 'X' }],
    ['{ok: false} with a message that is not a string', { ok: false, code: 'X', message: 42 }],
    ['no ok at all', { url: 'https://example.com' }],
  ])('records %s as FAILED, InvalidRouteResult, instead of failing the execution beyond every Catch', async (_, result) => {
    const { error, item, messages } = await runWithResult(result);

    expect(error?.name).toBe('OrchestrationFailed');
    expect(item).toMatchObject({ status: 'FAILED', reason: 'orchestration error: InvalidRouteResult' });
    expect(messages).toEqual([{ runRequestID: item.runRequestID, status: 'FAILED', error: { code: 'ORCHESTRATION_ERROR', message: 'orchestration error: InvalidRouteResult' } }]);
  });
});
