/**
 * The shapes the state machine hands to its Lambdas, validated with a schema at the door: a
 * mismatch is a definition bug and fails loudly with InvalidInputError instead of half-working.
 * zod's tree-shakable `mini` build keeps the bundles small (about 20 KB instead of 450 KB).
 */
import * as z from 'zod/mini';
import { InvalidInputError } from './aws-errors';
import { RUN_REQUEST_STATUSES } from './run-request';

const nonEmpty = () => z.string().check(z.minLength(1));
const stringMap = () => z.record(z.string(), z.string());

export const routeSchema = z.object({
  type: z.optional(z.literal('batch')),
  name: nonEmpty(),
  artifactsBucket: z.optional(nonEmpty()),
  jobQueue: nonEmpty(),
  jobDefinition: nonEmpty(),
  parameters: z._default(stringMap(), {}),
  maxRunTimeSeconds: z.int().check(z.positive()),
  terminateOnTimeout: z._default(z.boolean(), false),
  polling: z.object({
    initialSeconds: z.number().check(z.positive()),
    multiplier: z.number().check(z.gte(1)),
    maxSeconds: z.number().check(z.positive()),
  }),
});
export type Route = z.infer<typeof routeSchema>;

/** What submit-job and poll-job return, kept by the state machine at `$.job`. */
export const jobStateSchema = z.object({
  jobId: nonEmpty(),
  jobName: nonEmpty(),
  status: z.enum(RUN_REQUEST_STATUSES),
  submittedAtEpochS: z.int(),
  deadlineEpochS: z.int(),
  pollCount: z.int().check(z.gte(0)),
  waitSeconds: z.int().check(z.gte(1)),
  attempts: z._default(z.int().check(z.gte(0)), 0),
  reason: z.optional(z.string()),
  exitCode: z.optional(z.int()),
  alreadySubmitted: z.optional(z.boolean()),
});
export type JobState = z.infer<typeof jobStateSchema>;

export const runRequestRefSchema = z.object({
  runRequestID: nonEmpty(),
  processname: nonEmpty(),
  parameters: z.optional(stringMap()),
});

export const submitInputSchema = z.extend(runRequestRefSchema, { route: routeSchema });
export type SubmitInput = z.infer<typeof submitInputSchema>;

export const pollInputSchema = z.extend(runRequestRefSchema, { route: routeSchema, job: jobStateSchema });
export type PollInput = z.infer<typeof pollInputSchema>;

/** Parses `input` or throws InvalidInputError naming each bad path and what was wrong there. */
export function parseInput<S extends z.ZodMiniType>(schema: S, input: unknown, handler: string): z.infer<S> {
  const parsed = z.safeParse(schema, input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${describeIssue(issue)}`).join('; ');
    throw new InvalidInputError(`${handler}: invalid input: ${problems}`);
  }
  return parsed.data;
}

/** zod/mini ships no messages: say what the issue's code and details mean. */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return issue.code;
  }
}
