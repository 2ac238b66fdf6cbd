/**
 * The DynamoDB stream of the local tables, as durable as the real one: each write becomes an
 * INSERT record in the real event format, filtered and batched by the event source mappings'
 * settings and handed to their functions; failed records (batchItemFailures) are retried up to
 * the mapping's limit, then written to `<dataDir>/stream/dead-letters.jsonl`.
 *
 * Durability: every record is appended to `<dataDir>/stream/log.jsonl` before the write that made
 * it is answered, and every batch a mapping has processed (delivered, or dead-lettered after its
 * retries) is appended as an acknowledgement. A new instance on the same data dir delivers each
 * record some mapping has not acknowledged, through the same batching, retries and dead-lettering.
 * A batch that was in flight when local mode stopped is delivered again: at least once, as
 * Lambda's event source mappings deliver, which the stream's function must (and does) tolerate.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalStreamMapping, LocalTable, matchesFilters } from './config';
import { appendJsonLine, readJsonLines, rewriteJsonLines } from './jsonl';
import type { LambdaHandler, LocalLog } from './types';

/** A record in the DynamoDB Streams event format, as Lambda hands it to a function. */
export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: Record<string, AttributeValue>;
    readonly NewImage: Record<string, AttributeValue>;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: 'NEW_IMAGE';
  };
  readonly eventSourceARN: string;
}

export interface LocalStreamOptions {
  /** The log lives in `<dataDir>/stream/`. */
  readonly dataDir: string;
  /** The tables whose writes make records. */
  readonly tables: readonly LocalTable[];
  readonly mappings: readonly LocalStreamMapping[];
  /** The function a mapping delivers to, by its id in the stack. */
  readonly handlerOf: (functionId: string) => LambdaHandler;
  readonly log: LocalLog;
  /** Wait before the first retry of a failed batch; doubled each retry, up to 30 s. @default 500 */
  readonly retryBaseMs?: number;
}

/** One line of the log: a record, a mapping's acknowledgement of a batch, or where numbering resumes after a compaction. */
type LogEntry =
  | { readonly sequence: number; readonly tableId: string; readonly record: StreamRecord }
  | { readonly processed: readonly number[]; readonly mapping: string }
  | { readonly nextSequence: number };

interface Batch {
  readonly records: StreamRecord[];
  readonly mapping: LocalStreamMapping;
}

const MAX_RETRY_WAIT_MS = 30_000;

const mappingKey = (mapping: LocalStreamMapping): string => `${mapping.tableId}/${mapping.functionId}`;
const sequenceOf = (record: StreamRecord): number => Number(record.dynamodb.SequenceNumber);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LocalStream {
  private readonly logFile: string;
  private readonly deadLetterFile: string;
  private nextSequence = 1;
  private readonly queues = new Map<string, StreamRecord[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  /** What the log held that some mapping had not acknowledged: queued by `start()`. */
  private recovered: { record: StreamRecord; mapping: LocalStreamMapping }[] = [];
  private stopped = false;
  private lastBatch?: Batch;

  /** Reads the log (and compacts it to what is still to deliver); delivers nothing before `start()`. */
  public constructor(private readonly options: LocalStreamOptions) {
    const dir = path.join(options.dataDir, 'stream');
    mkdirSync(dir, { recursive: true });
    this.logFile = path.join(dir, 'log.jsonl');
    this.deadLetterFile = path.join(dir, 'dead-letters.jsonl');

    const records = new Map<number, { tableId: string; record: StreamRecord }>();
    const processed = new Map<string, Set<number>>();
    for (const entry of readJsonLines<LogEntry>(this.logFile)) {
      if ('record' in entry) {
        records.set(entry.sequence, entry);
        this.nextSequence = Math.max(this.nextSequence, entry.sequence + 1);
      } else if ('processed' in entry) {
        const done = processed.get(entry.mapping) ?? new Set<number>();
        entry.processed.forEach((sequence) => done.add(sequence));
        processed.set(entry.mapping, done);
      } else {
        this.nextSequence = Math.max(this.nextSequence, entry.nextSequence);
      }
    }
    const kept: LogEntry[] = [];
    const owed = new Set<number>();
    for (const [sequence, { tableId, record }] of records) {
      const pending = this.mappingsFor(tableId, record).filter((m) => !processed.get(mappingKey(m))?.has(sequence));
      if (pending.length === 0) continue;
      owed.add(sequence);
      kept.push({ sequence, tableId, record });
      this.recovered.push(...pending.map((mapping) => ({ record, mapping })));
    }
    for (const [mapping, done] of processed) {
      const stillOwedToOthers = [...done].filter((sequence) => owed.has(sequence));
      if (stillOwedToOthers.length > 0) kept.push({ processed: stillOwedToOthers, mapping });
    }
    // Delivered records are dropped, so the log holds what is still owed (plus the numbering).
    rewriteJsonLines(this.logFile, [{ nextSequence: this.nextSequence }, ...kept]);
  }

  /** Records queued or in delivery (a batch in delivery counts once). */
  public get pending(): number {
    return [...this.queues.values()].reduce((n, q) => n + q.length, 0) + this.inFlight.size + this.recovered.length;
  }

  /** Delivers what the log still owed when this instance started. Call once the functions can run. */
  public start(): void {
    const recovered = this.recovered;
    this.recovered = [];
    if (recovered.length > 0) this.options.log('stream records recovered', { records: new Set(recovered.map((r) => r.record)).size, deliveries: recovered.length });
    for (const { record, mapping } of recovered) this.enqueue(record, mapping);
  }

  /** The record of a write to `tableName`: in the log before this returns, then queued for each mapping that takes it. */
  public insert(tableName: string, item: Record<string, AttributeValue>): void {
    const table = this.options.tables.find((t) => t.name === tableName);
    if (!table) return;
    const sequence = this.nextSequence++;
    const record: StreamRecord = {
      eventID: `local-${sequence}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { [table.hashKey]: item[table.hashKey] },
        NewImage: item,
        SequenceNumber: String(sequence).padStart(21, '0'),
        SizeBytes: JSON.stringify(item).length,
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${table.name}/stream/local`,
    };
    appendJsonLine(this.logFile, { sequence, tableId: table.id, record } satisfies LogEntry);
    for (const mapping of this.mappingsFor(table.id, record)) this.enqueue(record, mapping);
  }

  /** Delivers the last batch again, as Lambda does after a partial failure or a retried batch. */
  public async replayLastBatch(): Promise<number> {
    if (!this.lastBatch) return 0;
    await this.deliverBatch(this.lastBatch);
    return this.lastBatch.records.length;
  }

  /** Resolves when nothing is queued or in delivery. */
  public async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.timers.size > 0) {
      await Promise.all([...this.inFlight]);
      if (this.inFlight.size === 0 && this.timers.size > 0) await sleep(50);
    }
  }

  /** Delivers nothing more; what is not acknowledged yet stays in the log for the next instance. */
  public stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private mappingsFor(tableId: string, record: StreamRecord): LocalStreamMapping[] {
    return this.options.mappings.filter((m) => m.tableId === tableId && matchesFilters(record, m.filters));
  }

  private enqueue(record: StreamRecord, mapping: LocalStreamMapping): void {
    // Once stopped, a record stays in the log for the next instance.
    if (this.stopped) return;
    const key = mappingKey(mapping);
    const queue = this.queues.get(key) ?? [];
    queue.push(record);
    this.queues.set(key, queue);
    if (queue.length >= mapping.batchSize) this.flush(key, mapping);
    else if (!this.timers.has(key)) this.timers.set(key, setTimeout(() => this.flush(key, mapping), mapping.batchingWindowSeconds * 1000));
  }

  private flush(key: string, mapping: LocalStreamMapping): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const records = (this.queues.get(key) ?? []).splice(0, mapping.batchSize);
    if (records.length === 0 || this.stopped) return;
    this.lastBatch = { records, mapping };
    const work = this.deliverBatch(this.lastBatch).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    if ((this.queues.get(key) ?? []).length > 0) this.flush(key, mapping);
  }

  /** Delivers with retries, then acknowledges the batch in the log unless local mode stopped first. */
  private async deliverBatch(batch: Batch): Promise<void> {
    if (!(await this.deliver(batch.records, batch.mapping, 0)) || this.stopped) return;
    appendJsonLine(this.logFile, { processed: batch.records.map(sequenceOf), mapping: mappingKey(batch.mapping) } satisfies LogEntry);
  }

  /** True once every record is delivered or dead-lettered; false when local mode stopped in between. */
  private async deliver(records: StreamRecord[], mapping: LocalStreamMapping, attempt: number): Promise<boolean> {
    const { log } = this.options;
    let failed: StreamRecord[];
    try {
      const response = (await this.options.handlerOf(mapping.functionId)({ Records: records })) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
      const ids = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      // As Lambda does: retry from the first failed record on.
      const first = records.findIndex((r) => ids.has(r.dynamodb.SequenceNumber));
      failed = first === -1 ? [] : records.slice(first);
    } catch (err) {
      log('stream batch failed', { records: records.length, error: (err as Error).name });
      failed = records;
    }
    for (const r of records.filter((r) => !failed.includes(r))) log('stream record delivered', { runRequestID: r.dynamodb.Keys.runRequestID?.S });
    if (failed.length === 0) return true;
    if (this.stopped) return false;
    if (mapping.maximumRetryAttempts >= 0 && attempt >= mapping.maximumRetryAttempts) {
      appendJsonLine(this.deadLetterFile, { at: new Date().toISOString(), records: failed });
      log('stream records dead-lettered', { records: failed.length });
      return true;
    }
    await sleep(Math.min(MAX_RETRY_WAIT_MS, (this.options.retryBaseMs ?? 500) * 2 ** attempt));
    return this.deliver(failed, mapping, attempt + 1);
  }
}
