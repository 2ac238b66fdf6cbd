/**
 * Local EventBridge: a rule's pattern picks the events its function gets, delivery is
 * asynchronous and retried, faults are injected when asked, and what a stop left undelivered is
 * delivered after the next start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventFaults, LocalEventBus } from '../../local/events';
import { silentLog } from '../../local/types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const QUEUE = 'arn:aws:batch:us-east-1:000000000000:job-queue/gateway';
const RULE = {
  name: 'job-state-changes',
  pattern: { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'], detail: { jobQueue: [QUEUE], status: ['RUNNING', 'SUCCEEDED', 'FAILED'] } },
  functionId: 'job-events',
};

let dataDir: string;
let received: Json[];
let failuresLeft: number;

function bus(faults?: EventFaults, random?: () => number): LocalEventBus {
  return new LocalEventBus({
    dataDir,
    rules: [RULE],
    handlerOf: (functionId) => async (event) => {
      expect(functionId).toBe('job-events');
      if (failuresLeft-- > 0) throw new Error('Rate exceeded');
      received.push(event as Json);
    },
    faults,
    random,
    log: silentLog,
  });
}

const jobChange = (status: string, jobQueue = QUEUE) => ({ jobId: `job-${status}`, jobQueue, status });

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-events-'));
  received = [];
  failuresLeft = 0;
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test("delivers the events its rule's pattern matches, in EventBridge's envelope, and no other", async () => {
  const events = bus();
  events.start();

  events.put('aws.batch', 'Batch Job State Change', jobChange('RUNNING'), ['arn:aws:batch:us-east-1:000000000000:job/job-RUNNING']);
  events.put('aws.batch', 'Batch Job State Change', jobChange('RUNNABLE'));
  events.put('aws.batch', 'Batch Job State Change', jobChange('SUCCEEDED', 'arn:aws:batch:us-east-1:000000000000:job-queue/someone-elses'));
  events.put('aws.ecs', 'Batch Job State Change', jobChange('FAILED'));
  await events.idle();

  expect(received).toEqual([
    {
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Batch Job State Change',
      source: 'aws.batch',
      account: '000000000000',
      time: expect.any(String),
      region: 'us-east-1',
      resources: ['arn:aws:batch:us-east-1:000000000000:job/job-RUNNING'],
      detail: jobChange('RUNNING'),
    },
  ]);
  expect(events.counts).toMatchObject({ put: 4, matched: 1, delivered: 1 });
});

test('holds what is put before start(), then delivers it', async () => {
  const events = bus();
  events.put('aws.batch', 'Batch Job State Change', jobChange('SUCCEEDED'));
  await events.idle();
  expect(received).toEqual([]);

  events.start();
  await events.idle();

  expect(received.map((e) => e.detail.status)).toEqual(['SUCCEEDED']);
});

test('retries a failed invocation twice, as Lambda does an asynchronous one, then gives up', async () => {
  const events = bus();
  events.start();
  failuresLeft = 2;
  events.put('aws.batch', 'Batch Job State Change', jobChange('SUCCEEDED'));
  await events.idle();
  failuresLeft = 3;
  events.put('aws.batch', 'Batch Job State Change', jobChange('FAILED'));
  await events.idle();

  expect(received.map((e) => e.detail.status)).toEqual(['SUCCEEDED']);
  expect(events.counts).toMatchObject({ delivered: 1, failed: 1 });
});

test('loses and repeats events when told to, as EventBridge may', async () => {
  // random() answers in turn: the loss draw, the repeat draw, then one delay draw per delivery.
  const draws = [0.1, 0.9, 0, 0.9, 0.1, 0, 0];
  const events = bus({ lostRate: 0.5, repeatedRate: 0.5, maxDelayMs: 10 }, () => draws.shift() ?? 0.9);
  events.start();

  events.put('aws.batch', 'Batch Job State Change', jobChange('RUNNING'));
  events.put('aws.batch', 'Batch Job State Change', jobChange('SUCCEEDED'));
  await events.idle();

  expect(received.map((e) => e.detail.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  expect(events.counts).toMatchObject({ matched: 2, lost: 1, repeated: 1, delivered: 2 });
});

test('rejects a fault rate outside 0..1', () => {
  expect(() => bus({ lostRate: 1.5 })).toThrow('event faults: lostRate must be from 0 to 1 (got 1.5)');
});

test('delivers after the next start what a stop left undelivered, and nothing twice', async () => {
  // The first bus never starts (stopped before its targets could run): its deliveries stay owed.
  const first = bus();
  first.put('aws.batch', 'Batch Job State Change', jobChange('SUCCEEDED'));
  await first.stop();
  const delivered = bus();
  delivered.start();
  await delivered.idle();
  const third = bus();
  third.start();
  await third.idle();

  expect(delivered.resumed).toBe(1);
  expect(third.resumed).toBe(0);
  expect(received.map((e) => e.detail.status)).toEqual(['SUCCEEDED']);
});
