/**
 * What polling one job costs, by schedule and job duration: polls (each one poll-job Lambda
 * invocation and one DescribeJobs call), state transitions, execution history events, and the
 * worst-case delay between the job ending and the status being recorded.
 */
import { type PollingSchedule, waitSecondsFor } from '../../contract';

export interface PollingCost {
  readonly polls: number;
  readonly describeJobsCalls: number;
  readonly lambdaInvocations: number;
  readonly stateTransitions: number;
  readonly historyEvents: number;
  /** Seconds: the wait in effect when the job ends, i.e. how late the end can be seen. */
  readonly worstCaseDelaySeconds: number;
}

/**
 * Transitions outside the polling loop: validate, choose route, route, submit; then the outcome,
 * the notify choice, the notify Task (a client is listening), finish, and the terminal state.
 */
export const FIXED_TRANSITIONS = 9;
/** Each poll: Wait, Task, Choice. */
const TRANSITIONS_PER_POLL = 3;
/** History events: a Wait enters and exits (2), a Lambda Task 5 (entered, scheduled, started, succeeded, exited), a Choice 2. */
const EVENTS_PER_POLL = 9;
/** Execution started/ended, 2 routing Choices, route Pass, submit Task, outcome Pass, notify Choice and Task, finish Choice, terminal state. */
const FIXED_EVENTS = 2 + 2 * 2 + 2 + 5 + 2 + 2 + 5 + 2 + 1;

/** Cost for a job that runs `durationSeconds` after submission, polled on `schedule`. */
export function pollingCost(durationSeconds: number, schedule: PollingSchedule): PollingCost {
  let elapsed = 0;
  let polls = 0;
  let waitInEffect = 0;
  while (elapsed < durationSeconds) {
    waitInEffect = waitSecondsFor(polls, schedule);
    elapsed += waitInEffect;
    polls++;
  }
  return {
    polls,
    describeJobsCalls: polls,
    // submit-job once, poll-job per poll.
    lambdaInvocations: polls + 1,
    stateTransitions: FIXED_TRANSITIONS + TRANSITIONS_PER_POLL * polls,
    historyEvents: FIXED_EVENTS + EVENTS_PER_POLL * polls,
    worstCaseDelaySeconds: waitInEffect,
  };
}

/** The original design's schedule: every 60 seconds, forever. */
export const FIXED_60_SECONDS: PollingSchedule = { initialSeconds: 60, multiplier: 1, maxSeconds: 60 };
