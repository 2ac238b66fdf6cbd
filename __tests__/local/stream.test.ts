/**
 * The local DynamoDB stream: records are in the log before a write is answered, and a new
 * instance on the same data dir delivers what the last one had not, through the mapping's
 * batching, retries and dead-lettering. `stop()` acknowledges nothing, so a stopped instance
 * leaves the log exactly as a crash would.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LocalStreamMapping, LocalTable } from '../../local/config';
import { readJsonLines } from '../../local/jsonl';
import { LocalStream, LocalStreamOptions, StreamRecord } from '../../local/stream';
import { silentLog } from '../../local/types';

const TABLE: LocalTable = { id: 'runs_table', name: 'run-requests', hashKey: 'runRequestID', indexes: [] };
const MAPPING: LocalStreamMapping = {
  functionId: 'start_execution',
  tableId: TABLE.id,
  batchSize: 10,
  batchingWindowSeconds: 0,
  maximumRetryAttempts: 2,
  filters: [{ eventName: ['INSERT'] }],
};
/** A window no test waits for: records stay queued until the instance stops. */
const NEVER_FLUSHED: LocalStreamMapping = { ...MAPPING, batchingWindowSeconds: 3600 };

type Batches = StreamRecord[][];

let dataDir: string;
const streams: LocalStream[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'local-stream-'));
});

afterEach(() => {
  streams.splice(0).forEach((s) => s.stop());
  rmSync(dataDir, { recursive: true, force: true });
});

/** A stream whose function records each batch it receives and answers with `answer`. */
function open(mapping: LocalStreamMapping, answer: (records: StreamRecord[]) => Promise<unknown> = async () => ({ batchItemFailures: [] })): { stream: LocalStream; batches: Batches } {
  const batches: Batches = [];
  const options: LocalStreamOptions = {
    dataDir,
    tables: [TABLE],
    mappings: [mapping],
    handlerOf: () => async (event) => {
      const records = (event as { Records: StreamRecord[] }).Records;
      batches.push(records);
      return answer(records);
    },
    log: silentLog,
    retryBaseMs: 1,
  };
  const stream = new LocalStream(options);
  streams.push(stream);
  stream.start();
  return { stream, batches };
}

const write = (stream: LocalStream, ...ids: string[]) => ids.forEach((id) => stream.insert(TABLE.name, { runRequestID: { S: id }, status: { S: 'ACCEPTED' } }));
const idsOf = (batches: Batches) => batches.map((b) => b.map((r) => r.dynamodb.Keys.runRequestID.S));
const logFile = () => path.join(dataDir, 'stream', 'log.jsonl');

test('a record is in the log when insert returns, and the next instance delivers what the last had not', async () => {
  // Prepare
  const first = open(NEVER_FLUSHED);
  write(first.stream, 'r1', 'r2', 'r3');
  const logged = readJsonLines<{ record?: StreamRecord }>(logFile()).filter((e) => e.record);
  first.stream.stop();

  // Act
  const second = open(MAPPING);
  await second.stream.idle();

  // Assess
  expect(logged).toHaveLength(3);
  expect(first.batches).toEqual([]);
  expect(idsOf(second.batches)).toEqual([['r1', 'r2', 'r3']]);
  expect(second.batches[0].map((r) => r.dynamodb.SequenceNumber)).toEqual(logged.map((e) => e.record!.dynamodb.SequenceNumber));
  expect(second.stream.pending).toBe(0);
});

test('delivered records are not delivered again, and numbering goes on after a restart', async () => {
  // Prepare
  const first = open(MAPPING);
  write(first.stream, 'r1', 'r2');
  await first.stream.idle();
  first.stream.stop();

  // Act
  const second = open(MAPPING);
  write(second.stream, 'r3');
  await second.stream.idle();

  // Assess
  expect(idsOf(first.batches)).toEqual([['r1', 'r2']]);
  expect(idsOf(second.batches)).toEqual([['r3']]);
  expect(second.batches[0][0]).toMatchObject({ eventID: 'local-3', dynamodb: { SequenceNumber: '000000000000000000003' } });
});

test('recovered records are delivered in batches of the mapping', async () => {
  // Prepare
  const first = open(NEVER_FLUSHED);
  write(first.stream, ...Array.from({ length: 25 }, (_, i) => `r${i + 1}`));
  first.stream.stop();

  // Act
  const second = open(MAPPING);
  await second.stream.idle();

  // Assess
  expect(second.batches.map((b) => b.length)).toEqual([10, 10, 5]);
  expect(idsOf(second.batches).flat()).toEqual(Array.from({ length: 25 }, (_, i) => `r${i + 1}`));
});

test('a batch in delivery when local mode stops is delivered again by the next instance', async () => {
  // Prepare
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = open(MAPPING, async () => {
    await gate;
    return { batchItemFailures: [] };
  });
  write(first.stream, 'r1');
  while (first.batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

  // Act
  first.stream.stop();
  release();
  await first.stream.idle();
  const second = open(MAPPING);
  await second.stream.idle();

  // Assess
  expect(idsOf(first.batches)).toEqual([['r1']]);
  expect(idsOf(second.batches)).toEqual([['r1']]);
});

test('a partial failure is retried from the first failed record on', async () => {
  // Prepare
  let calls = 0;
  const { stream, batches } = open(MAPPING, async (records) => ({ batchItemFailures: calls++ === 0 ? [{ itemIdentifier: records[1].dynamodb.SequenceNumber }] : [] }));

  // Act
  write(stream, 'r1', 'r2', 'r3');
  await stream.idle();

  // Assess
  expect(idsOf(batches)).toEqual([
    ['r1', 'r2', 'r3'],
    ['r2', 'r3'],
  ]);
});

test('records that fail every retry are dead-lettered once, and not delivered again after a restart', async () => {
  // Prepare
  const first = open(MAPPING, async () => {
    throw new Error('the state machine is unreachable');
  });
  write(first.stream, 'r1');
  await first.stream.idle();
  first.stream.stop();

  // Act
  const second = open(MAPPING);
  await second.stream.idle();

  // Assess
  expect(first.batches).toHaveLength(1 + MAPPING.maximumRetryAttempts);
  const deadLetters = readJsonLines<{ records: StreamRecord[] }>(path.join(dataDir, 'stream', 'dead-letters.jsonl'));
  expect(deadLetters.map((d) => idsOf([d.records])[0])).toEqual([['r1']]);
  expect(second.batches).toEqual([]);
});

test('a line torn by a crash is dropped, and later records are appended on lines of their own', async () => {
  // Prepare
  const first = open(NEVER_FLUSHED);
  write(first.stream, 'r1');
  first.stream.stop();
  appendFileSync(logFile(), '{"sequence":2,"tableId":"runs_ta');

  // Act
  const second = open(MAPPING);
  write(second.stream, 'r2');
  await second.stream.idle();
  second.stream.stop();
  const third = open(MAPPING);
  await third.stream.idle();

  // Assess
  expect(idsOf(second.batches).flat().sort()).toEqual(['r1', 'r2']);
  expect(third.batches).toEqual([]);
  expect(readFileSync(logFile(), 'utf8').endsWith('\n')).toBe(true);
  expect(() => readJsonLines(logFile())).not.toThrow();
});
