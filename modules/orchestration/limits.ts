/**
 * The AWS limits a Batch route must respect, checked when the route is defined: a route that
 * breaks one would be accepted by the API and then fail at run time (or be refused by AWS).
 */
import { type BatchRouteState, JOB_QUEUE_TAG, RUN_REQUEST_LIMITS } from '../../contract';
import { AWS_LIMITS, jsonBytes } from '../shared/limits';
import { assertProp, isLiteral } from '../shared/naming';
import { historyAtDeadline } from './polling-cost';

/** What the route's job target says about its job definition, when it knows. */
export interface JobTargetFacts {
  /** Batch's per-attempt timeout of the job definition. @default - unknown (a definition registered elsewhere) */
  readonly attemptTimeoutSeconds?: number;
  /** Where the jobs run. @default - unknown */
  readonly platform?: 'FARGATE' | 'EC2';
}

export function validateBatchRouteLimits(where: string, route: BatchRouteState, target: JobTargetFacts): void {
  const { maxRunTimeSeconds } = route;
  const attempt = target.attemptTimeoutSeconds;
  if (attempt !== undefined && isLiteral(attempt)) {
    assertProp(
      attempt >= maxRunTimeSeconds,
      `${where}: the job definition ends an attempt after ${attempt} s, before the route's maxRunTimeSeconds of ${maxRunTimeSeconds} s: Batch would end the job FAILED, never TIMED_OUT. Give the job definition timeoutSeconds >= ${maxRunTimeSeconds}`,
    );
  }
  if (target.platform === 'FARGATE') {
    assertProp(
      maxRunTimeSeconds <= AWS_LIMITS.fargateMaxRunSeconds,
      `${where}: maxRunTimeSeconds ${maxRunTimeSeconds} is over 14 days (${AWS_LIMITS.fargateMaxRunSeconds} s), the longest AWS Batch guarantees a job on Fargate`,
    );
  }
  const { historyEvents, checks } = historyAtDeadline(maxRunTimeSeconds, route.polling, route.completion);
  const checking = route.completion === 'poll' ? `polling a job for ${maxRunTimeSeconds} s on this schedule takes ${checks} polls` : `checking a job for ${maxRunTimeSeconds} s on this safety-net schedule takes ${checks} checks`;
  assertProp(
    historyEvents <= AWS_LIMITS.executionHistoryEvents,
    `${where}: ${checking} and ${historyEvents} execution history events, over Step Functions' ${AWS_LIMITS.executionHistoryEvents}; raise polling.maxSeconds or lower maxRunTimeSeconds`,
  );
  const payload = worstCaseSubmitJobBytes(route);
  assertProp(
    payload <= AWS_LIMITS.submitJobPayloadBytes,
    `${where}: a request at the API's limits could make a SubmitJob payload of ${payload} bytes, over Batch's ${AWS_LIMITS.submitJobPayloadBytes} (30 KiB); the route's own parameters take ${jsonBytes(route.parameters)} of them`,
  );
}

/** A placeholder as long as the longest value an unresolved reference can take. */
const placeholder = (value: string, longest: number) => (isLiteral(value) ? value : 'x'.repeat(longest));

/**
 * The largest SubmitJob request submit-job can make for this route: the longest job name, tags and
 * artifacts environment, the route's parameters, and as many request parameters as the API
 * accepts, each with the longest key and a value of 4-byte characters (the most UTF-8 bytes a
 * counted character can take).
 */
export function worstCaseSubmitJobBytes(route: BatchRouteState): number {
  const longestTag = 'x'.repeat(AWS_LIMITS.tagValueLength);
  const requestParameters = Object.fromEntries(
    Array.from({ length: RUN_REQUEST_LIMITS.parameters }, (_, i) => [`p${i}`.padEnd(64, '_'), '\u{1F600}'.repeat(RUN_REQUEST_LIMITS.parameterValue)]),
  );
  return jsonBytes({
    jobName: 'x'.repeat(128),
    // A job queue ARN: partition, region, account and a name of at most 128 characters.
    jobQueue: placeholder(route.jobQueue, 200),
    jobDefinition: placeholder(route.jobDefinition, 128),
    parameters: { ...route.parameters, ...requestParameters },
    tags: { runRequestID: longestTag, route: route.name, [JOB_QUEUE_TAG]: longestTag },
    propagateTags: true,
    containerOverrides: {
      environment: [
        { name: 'ARTIFACTS_BUCKET', value: route.artifactsBucket === undefined ? undefined : placeholder(route.artifactsBucket, 63) },
        { name: 'ARTIFACTS_PREFIX', value: `${longestTag}/` },
      ],
    },
  });
}
