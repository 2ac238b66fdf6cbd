/**
 * The polling schedule of a running job: waits grow geometrically from `initialSeconds` by
 * `multiplier` up to `maxSeconds`, and never run past the route's deadline. Short jobs are seen
 * finishing quickly; long jobs cost a few calls an hour instead of one a minute.
 */
export interface PollingSchedule {
  /** First wait after submission. */
  readonly initialSeconds: number;
  /** Growth factor of each next wait (>= 1). */
  readonly multiplier: number;
  /** Cap of a wait: the worst-case delay between a job ending and its status being recorded. */
  readonly maxSeconds: number;
}

export const DEFAULT_POLLING: PollingSchedule = { initialSeconds: 30, multiplier: 1.5, maxSeconds: 240 };

/** Seconds to wait before poll number `pollCount` (0 = the first poll after submission). */
export function waitSecondsFor(pollCount: number, schedule: PollingSchedule, secondsUntilDeadline = Infinity): number {
  const geometric = schedule.initialSeconds * schedule.multiplier ** pollCount;
  const wait = Math.min(geometric, schedule.maxSeconds, secondsUntilDeadline);
  // Step Functions waits whole seconds; a poll right at the deadline still happens.
  return Math.max(1, Math.ceil(wait));
}
