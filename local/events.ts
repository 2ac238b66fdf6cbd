/**
 * EventBridge for local mode: the stack's rules on the default bus, each delivering the events
 * that match its pattern to its function, as EventBridge does: asynchronously, at least once, in
 * no guaranteed order (a failed invocation is retried twice, as Lambda retries an asynchronous
 * one). Faults can be injected (events lost, repeated, late) so that the state machine's safety
 * net and the handlers' idempotence are exercised, not assumed.
 *
 * EventBridge keeps an event it accepted whatever happens to its targets' callers: each matched
 * delivery is journaled in `<dataDir>/events/deliveries.jsonl` before it is attempted, and the
 * deliveries a stop or a crash left undone are made after the next start.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalEventRule, matchesFilters } from './config';
import { appendJsonLine, readJsonLines, rewriteJsonLines } from './jsonl';
import type { LambdaHandler, LocalLog } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** What can go wrong between a service emitting an event and its target being invoked. */
export interface EventFaults {
  /** Share of events never delivered (0..1). @default 0 */
  readonly lostRate?: number;
  /** Share of events delivered twice (0..1). @default 0 */
  readonly repeatedRate?: number;
  /** Each delivery is late by up to this many milliseconds (random: order is not kept). @default 0 */
  readonly maxDelayMs?: number;
}

export interface LocalEventBusOptions {
  /** Deliveries are journaled in `<dataDir>/events/deliveries.jsonl`. */
  readonly dataDir: string;
  readonly rules: readonly LocalEventRule[];
  readonly handlerOf: (functionId: string) => LambdaHandler;
  readonly faults?: EventFaults;
  readonly log: LocalLog;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_RETRIES = 2;
const RETRY_DELAY_MS = 100;

/** A journal line: a delivery to make, or the end of one (`done`). */
type JournalLine = { readonly delivery: string; readonly rule: string; readonly event: Json } | { readonly delivery: string; readonly done: true };

export class LocalEventBus {
  /** Events put on the bus, matched by a rule, delivered (invocations that returned), lost, repeated, failed for good. */
  public readonly counts = { put: 0, matched: 0, delivered: 0, lost: 0, repeated: 0, failed: 0 };
  private started = false;
  private stopped = false;
  private readonly queued: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly random: () => number;
  private readonly journal: string;
  /** Deliveries a stop or a crash left undone: made after start(). */
  public readonly resumed: number;

  public constructor(private readonly options: LocalEventBusOptions) {
    for (const [name, rate] of Object.entries({ lostRate: options.faults?.lostRate, repeatedRate: options.faults?.repeatedRate })) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error(`event faults: ${name} must be from 0 to 1 (got ${rate})`);
    }
    this.random = options.random ?? Math.random;
    const dir = path.join(options.dataDir, 'events');
    mkdirSync(dir, { recursive: true });
    this.journal = path.join(dir, 'deliveries.jsonl');
    const undone = new Map<string, { rule: string; event: Json }>();
    for (const line of readJsonLines<JournalLine>(this.journal)) {
      if ('done' in line) undone.delete(line.delivery);
      else undone.set(line.delivery, { rule: line.rule, event: line.event });
    }
    // Only what is still owed stays in the journal.
    rewriteJsonLines(this.journal, [...undone].map(([delivery, d]) => ({ delivery, ...d })));
    this.resumed = undone.size;
    for (const [delivery, { rule, event }] of undone) {
      const target = options.rules.find((r) => r.name === rule);
      if (target) this.queued.push(() => this.attempt(delivery, target, event, 0));
    }
  }

  /** An event from `source`, in the envelope EventBridge gives it. */
  public put(source: string, detailType: string, detail: Json, resources: string[] = []): void {
    if (this.stopped) return;
    this.counts.put++;
    const event = { version: '0', id: randomUUID(), 'detail-type': detailType, source, account: LOCAL_ACCOUNT, time: new Date().toISOString(), region: LOCAL_REGION, resources, detail };
    for (const rule of this.options.rules.filter((r) => matchesFilters(event, [r.pattern]))) {
      this.counts.matched++;
      this.deliver(rule, event);
    }
  }

  /** Delivers what was put before the targets could run (their endpoints set), then delivers at once. */
  public start(): void {
    this.started = true;
    this.queued.splice(0).forEach((deliver) => deliver());
  }

  /** Resolves when no delivery is pending. */
  public async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private deliver(rule: LocalEventRule, event: Json): void {
    const faults = this.options.faults ?? {};
    if (this.random() < (faults.lostRate ?? 0)) {
      this.counts.lost++;
      this.options.log('event lost (injected)', { rule: rule.name, detailType: event['detail-type'], status: event.detail?.status, jobId: event.detail?.jobId });
      return;
    }
    const times = this.random() < (faults.repeatedRate ?? 0) ? 2 : 1;
    if (times === 2) this.counts.repeated++;
    for (let i = 0; i < times; i++) {
      const delivery = randomUUID();
      appendJsonLine(this.journal, { delivery, rule: rule.name, event });
      const delayMs = Math.floor(this.random() * (faults.maxDelayMs ?? 0));
      if (this.started) this.attempt(delivery, rule, event, delayMs);
      else this.queued.push(() => this.attempt(delivery, rule, event, delayMs));
    }
  }

  private attempt(delivery: string, rule: LocalEventRule, event: Json, delayMs: number): void {
    const run = this.invoke(delivery, rule, event, delayMs).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async invoke(delivery: string, rule: LocalEventRule, event: Json, delayMs: number): Promise<void> {
    if (delayMs > 0) await sleep(delayMs);
    const handler = this.options.handlerOf(rule.functionId);
    for (let attempt = 0; attempt <= ASYNC_RETRIES; attempt++) {
      // Stopped: the delivery stays in the journal for the next start.
      if (this.stopped) return;
      try {
        await handler(event);
        this.counts.delivered++;
        appendJsonLine(this.journal, { delivery, done: true });
        return;
      } catch (err) {
        this.options.log('event delivery failed', { rule: rule.name, attempt: attempt + 1, error: (err as Error).message });
        if (attempt < ASYNC_RETRIES) await sleep(RETRY_DELAY_MS * (attempt + 1));
      }
    }
    // Given up, as Lambda gives up an asynchronous invocation: the safety net finds what it carried.
    this.counts.failed++;
    appendJsonLine(this.journal, { delivery, done: true });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
