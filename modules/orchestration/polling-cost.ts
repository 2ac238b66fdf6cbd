/**
 * What watching one job costs, by completion mode, schedule and job duration: checks (each one
 * poll-job invocation and one DescribeJobs call), state transitions, execution history events,
 * Lambda invocations, and the worst-case delay between the job ending and its status being
 * recorded. Used to check a route against Step Functions' history limit, and by the benchmark.
 */
import { type CompletionMode, type PollingSchedule, waitSecondsFor } from '../../contract';

export interface PollingCost {
  /** Checks before the job's end is known (the safety net's, with events). */
  readonly polls: number;
  readonly describeJobsCalls: number;
  readonly lambdaInvocations: number;
  readonly stateTransitions: number;
  readonly historyEvents: number;
  /** Seconds: how late the end can be seen (with events: when its event is lost). */
  readonly worstCaseDelaySeconds: number;
}

/**
 * Transitions outside the checks: validate, choose route, route, submit, the first "finished?";
 * then the outcome, the notify choice, the notify Task (a client is listening), finish, and the
 * terminal state.
 */
export const FIXED_TRANSITIONS = 10;
/** History events outside the checks: execution started/ended, 3 Choices, route Pass, submit Task, outcome Pass, notify Choice and Task, finish Choice, terminal state. */
const FIXED_EVENTS = 2 + 3 * 2 + 2 + 5 + 2 + 2 + 5 + 2 + 1;

/** Each check of a `poll` route: Wait, Task, Choice; its events: a Wait enters and exits (2), a Lambda Task 5, a Choice 2. */
const POLL = { transitions: 3, events: 9 };
/** Each safety-net check of an `events` route: the await Task times out, then poll-job and the Choice (its events: 6 + 5 + 2). */
const EVENTS = { transitions: 3, events: 13 };
/** The await the job's end wakes (6 events) and the Choice after it (2). */
const EVENTS_END = { transitions: 2, events: 8 };
/** Batch events of one job that reach job-events: RUNNING and its end. */
const EVENTS_PER_JOB = 2;

/** The checks the schedule makes until `durationSeconds` has passed, and the wait before the last. */
function checksUntil(durationSeconds: number, schedule: PollingSchedule): { polls: number; waitInEffect: number } {
  let elapsed = 0;
  let polls = 0;
  let waitInEffect = 0;
  while (elapsed < durationSeconds) {
    waitInEffect = waitSecondsFor(polls, schedule);
    elapsed += waitInEffect;
    polls++;
  }
  return { polls, waitInEffect };
}

/**
 * The most history a route's execution records: its job checked until the deadline (a job that
 * never ends, or whose end is never seen), every check the schedule makes up to `maxRunTimeSeconds`.
 */
export function historyAtDeadline(maxRunTimeSeconds: number, schedule: PollingSchedule, completion: CompletionMode): { checks: number; historyEvents: number } {
  const { polls } = checksUntil(maxRunTimeSeconds, schedule);
  return { checks: polls, historyEvents: FIXED_EVENTS + (completion === 'poll' ? POLL.events : EVENTS.events) * polls };
}

/** Cost for a job that runs `durationSeconds` after submission. */
export function pollingCost(durationSeconds: number, schedule: PollingSchedule, completion: CompletionMode = 'poll'): PollingCost {
  const { polls, waitInEffect } = checksUntil(durationSeconds, schedule);
  if (completion === 'poll') {
    return {
      polls,
      describeJobsCalls: polls,
      // submit-job once, poll-job per poll.
      lambdaInvocations: polls + 1,
      stateTransitions: FIXED_TRANSITIONS + POLL.transitions * polls,
      historyEvents: FIXED_EVENTS + POLL.events * polls,
      worstCaseDelaySeconds: waitInEffect,
    };
  }
  // With events, the checks are those the schedule makes before the job ends; the event ends it.
  const checks = polls - 1;
  return {
    polls: checks,
    describeJobsCalls: checks,
    // submit-job, await-job before each wait, poll-job per check, job-events per event.
    lambdaInvocations: 1 + (checks + 1) + checks + EVENTS_PER_JOB,
    stateTransitions: FIXED_TRANSITIONS + EVENTS_END.transitions + EVENTS.transitions * checks,
    historyEvents: FIXED_EVENTS + EVENTS.events * checks + EVENTS_END.events,
    worstCaseDelaySeconds: waitInEffect,
  };
}

/** The original design's schedule: every 60 seconds, forever. */
export const FIXED_60_SECONDS: PollingSchedule = { initialSeconds: 60, multiplier: 1, maxSeconds: 60 };
