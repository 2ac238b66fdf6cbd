/**
 * The token bucket local mode throttles with (the REST stage's methods, local Batch's API): a full
 * bucket admits its burst at once, then requests pass at the rate, and idle time never stores more
 * than the burst. The clock is the test's.
 */
import { TokenBucket } from '../../local/token-bucket';

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** How many of `n` requests taken at this instant pass. */
const admitted = (bucket: TokenBucket, n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;

describe('TokenBucket', () => {
  it('admits the burst at once from a full bucket, and nothing more at that instant', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });

    // Act
    const passed = admitted(bucket, 150);

    // Assess
    expect(passed).toBe(100);
    expect(bucket.take()).toBe(false);
  });

  it('refills at the rate once empty: 50 per second, one every 20 ms', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });
    admitted(bucket, 100);

    // Act
    clock.advance(19);
    const before = bucket.take();
    clock.advance(1);
    const at = bucket.take();
    clock.advance(1_000);
    const afterASecond = admitted(bucket, 100);

    // Assess
    expect(before).toBe(false);
    expect(at).toBe(true);
    expect(afterASecond).toBe(50);
  });

  it('passes every request of a rate under the limit, even from an empty bucket', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });
    admitted(bucket, 100);

    // Act: 40 requests a second for 10 seconds.
    const results = Array.from({ length: 400 }, () => {
      clock.advance(25);
      return bucket.take();
    });

    // Assess
    expect(results.filter((passed) => !passed)).toHaveLength(0);
  });

  it('throttles the share of a rate over the limit that the burst cannot absorb', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });

    // Act: 100 requests a second for 10 seconds.
    const passed = Array.from({ length: 1_000 }, () => {
      clock.advance(10);
      return bucket.take();
    }).filter(Boolean).length;

    // Assess: the burst plus 50 a second (the first refill lands on a full bucket).
    expect(passed).toBe(100 + 500 - 1);
  });

  it('never holds more than its capacity, however long it stays idle', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });
    admitted(bucket, 30);

    // Act
    clock.advance(3_600_000);

    // Assess
    expect(bucket.available).toBe(100);
    expect(admitted(bucket, 150)).toBe(100);
  });

  it('adds nothing when the clock steps back', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 50, capacity: 100, now: clock.now });
    admitted(bucket, 100);

    // Act
    clock.advance(-5_000);
    const passed = bucket.take();
    clock.advance(20);

    // Assess
    expect(passed).toBe(false);
    expect(bucket.take()).toBe(true);
  });

  it('with a rate of 0 admits its burst once, and with a capacity of 0 nothing (a method switched off)', () => {
    const clock = manualClock();
    const once = new TokenBucket({ ratePerSecond: 0, capacity: 2, now: clock.now });
    const none = new TokenBucket({ ratePerSecond: 50, capacity: 0, now: clock.now });

    expect(admitted(once, 3)).toBe(2);
    clock.advance(60_000);
    expect(once.take()).toBe(false);
    expect(admitted(none, 3)).toBe(0);
  });

  it.each([
    [{ ratePerSecond: -1, capacity: 100 }, /ratePerSecond must be a finite number >= 0 \(got -1\)/],
    [{ ratePerSecond: 50, capacity: Number.NaN }, /capacity must be a finite number >= 0 \(got NaN\)/],
    [{ ratePerSecond: Infinity, capacity: 100 }, /ratePerSecond must be a finite number >= 0 \(got Infinity\)/],
  ])('refuses %o', (options, message) => {
    expect(() => new TokenBucket(options)).toThrow(message);
  });
});
