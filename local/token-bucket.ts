/**
 * The token bucket AWS throttles with (API Gateway's stages and methods, Batch's API): it starts
 * full, each request takes one token, tokens come back at `ratePerSecond` and never pile up past
 * `capacity` (the burst). A request that finds no whole token is refused.
 */
export interface TokenBucketOptions {
  /** Tokens added per second (the steady-state rate); fractions allowed, 0 = none ever come back. */
  readonly ratePerSecond: number;
  /** Tokens held at most, and at the start (the burst). */
  readonly capacity: number;
  /** The clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

export class TokenBucket {
  public readonly ratePerSecond: number;
  public readonly capacity: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  public constructor(options: TokenBucketOptions) {
    for (const [name, value] of [['ratePerSecond', options.ratePerSecond], ['capacity', options.capacity]] as const) {
      if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`TokenBucket: ${name} must be a finite number >= 0 (got ${value})`);
    }
    this.ratePerSecond = options.ratePerSecond;
    this.capacity = options.capacity;
    this.now = options.now ?? (() => performance.now());
    this.tokens = options.capacity;
    this.last = this.now();
  }

  /** Takes a token if there is one: true, the request may go on; false, it is throttled. */
  public take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens there now (fractions included). */
  public get available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    // A clock that steps back adds nothing (and takes nothing away).
    const elapsedMs = Math.max(0, now - this.last);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs / 1000) * this.ratePerSecond);
    this.last = now;
  }
}
