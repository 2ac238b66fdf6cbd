import { DEFAULT_POLLING } from '../../contract';
import { FIXED_60_SECONDS, pollingCost } from '../../modules/orchestration/polling-cost';

describe('polling cost of the default schedule', () => {
  it('keeps a 1-hour job within 20 DescribeJobs calls and 70 transitions, seen within 5 minutes', () => {
    const cost = pollingCost(3600, DEFAULT_POLLING);

    expect(cost.describeJobsCalls).toBeLessThanOrEqual(20);
    expect(cost.stateTransitions).toBeLessThanOrEqual(70);
    expect(cost.worstCaseDelaySeconds).toBeLessThanOrEqual(300);
  });

  it('keeps a 24-hour job far below the 25,000-event history limit', () => {
    expect(pollingCost(86400, DEFAULT_POLLING).historyEvents).toBeLessThan(5000);
  });

  it('costs the original fixed 60-second poll 60 calls and about 180 transitions an hour', () => {
    const cost = pollingCost(3600, FIXED_60_SECONDS);

    expect(cost.describeJobsCalls).toBe(60);
    expect(cost.stateTransitions).toBe(189);
  });

  it('sees a 1-minute job end as fast as the original does', () => {
    expect(pollingCost(60, DEFAULT_POLLING).worstCaseDelaySeconds).toBeLessThanOrEqual(pollingCost(60, FIXED_60_SECONDS).worstCaseDelaySeconds);
  });
});
