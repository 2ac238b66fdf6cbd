/**
 * Local mode's scaled waits: the check schedule shrinks with --wait-scale, a run's deadline does not
 * (poll-job judges it by the real clock).
 */
import { localWaitMs } from '../../local/index';

const NOW_MS = 1_800_000_000_000;
const jobWithDeadlineIn = (seconds: number) => ({ job: { deadlineEpochS: NOW_MS / 1000 + seconds, pollCount: 0 } });

describe('localWaitMs', () => {
  it('scales a wait the schedule decided', () => {
    expect(localWaitMs(900, jobWithDeadlineIn(3600), 0.01, NOW_MS)).toBe(9_000);
  });

  it('ends a wait capped at the deadline at the deadline, unscaled', () => {
    // submit-job's first wait for a 10-s deadline is min(900, 10) = 10 s: scaled, it was a check after 100 ms.
    expect(localWaitMs(10, jobWithDeadlineIn(10), 0.01, NOW_MS)).toBe(10_000);
    expect(localWaitMs(1, jobWithDeadlineIn(0.4), 0.01, NOW_MS)).toBe(400);
  });

  it('does not wait for a deadline already past', () => {
    expect(localWaitMs(1, jobWithDeadlineIn(-5), 0.01, NOW_MS)).toBe(0);
  });

  it('scales a wait of a state input without a job', () => {
    expect(localWaitMs(30, {}, 0.1, NOW_MS)).toBe(3_000);
  });

  it('waits nothing with a scale of 0', () => {
    expect(localWaitMs(10, jobWithDeadlineIn(10), 0, NOW_MS)).toBe(0);
  });
});
