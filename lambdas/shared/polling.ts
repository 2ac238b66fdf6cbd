/**
 * The polling schedule of a running job (contract/route.ts): short jobs are seen finishing
 * quickly; long jobs cost a few calls an hour instead of one a minute.
 */
import type { PollingSchedule } from '../../contract';

/** Seconds to wait before poll number `pollCount` (0 = the first poll after submission). */
export function waitSecondsFor(pollCount: number, schedule: PollingSchedule, secondsUntilDeadline = Infinity): number {
  const geometric = schedule.initialSeconds * schedule.multiplier ** pollCount;
  const wait = Math.min(geometric, schedule.maxSeconds, secondsUntilDeadline);
  // Step Functions waits whole seconds; a poll right at the deadline still happens.
  return Math.max(1, Math.ceil(wait));
}
