import { DEFAULT_EVENT_SAFETY_NET, DEFAULT_POLLING } from '../../contract';
import { FIXED_60_SECONDS, FIXED_TRANSITIONS, historyAtDeadline, pollingCost } from '../../modules/orchestration/polling-cost';

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
    expect(cost.stateTransitions).toBe(FIXED_TRANSITIONS + 3 * 60);
    expect(cost.stateTransitions).toBe(190);
  });

  it('sees a 1-minute job end as fast as the original does', () => {
    expect(pollingCost(60, DEFAULT_POLLING).worstCaseDelaySeconds).toBeLessThanOrEqual(pollingCost(60, FIXED_60_SECONDS).worstCaseDelaySeconds);
  });
});

describe('cost of events completion on the default safety net', () => {
  it('watches a 1-hour job with at most 2 DescribeJobs calls and 20 transitions, its end seen from its event', () => {
    const cost = pollingCost(3600, DEFAULT_EVENT_SAFETY_NET, 'events');

    // Checks at 15 and 45 minutes; the end, at 60, comes as an event.
    expect(cost.describeJobsCalls).toBe(2);
    expect(cost.stateTransitions).toBe(FIXED_TRANSITIONS + 2 + 3 * 2);
    expect(cost.stateTransitions).toBeLessThanOrEqual(20);
  });

  it('costs a 1-minute job no DescribeJobs call: submit, await, and the end', () => {
    const cost = pollingCost(60, DEFAULT_EVENT_SAFETY_NET, 'events');

    expect(cost.describeJobsCalls).toBe(0);
    expect(cost.stateTransitions).toBe(FIXED_TRANSITIONS + 2);
  });

  it('costs less than polling for every job duration from a minute to a day', () => {
    for (const seconds of [60, 600, 3600, 6 * 3600, 86400]) {
      const events = pollingCost(seconds, DEFAULT_EVENT_SAFETY_NET, 'events');
      const polls = pollingCost(seconds, DEFAULT_POLLING, 'poll');
      expect({ seconds, fewerCalls: events.describeJobsCalls < polls.describeJobsCalls, fewerTransitions: events.stateTransitions < polls.stateTransitions }).toEqual({
        seconds,
        fewerCalls: true,
        fewerTransitions: true,
      });
    }
  });

  it('records the most history in a run that lasts to its deadline: every check up to it', () => {
    expect(historyAtDeadline(3600, DEFAULT_EVENT_SAFETY_NET, 'events').checks).toBe(3);
    expect(historyAtDeadline(3600, DEFAULT_POLLING, 'poll').historyEvents).toBe(pollingCost(3600, DEFAULT_POLLING, 'poll').historyEvents);
  });
});
