/**
 * Parses a handler's input with its contract schema at the door: a mismatch is a definition bug
 * and fails loudly with InvalidInputError instead of half-working. The schemas use zod's
 * tree-shakable `mini` build, which keeps the bundles small (about 20 KB instead of 450 KB).
 */
import * as z from 'zod/mini';
import { InvalidInputError } from './aws-errors';

/** Parses `input` or throws InvalidInputError naming each bad path and what was wrong there. */
export function parseInput<S extends z.ZodMiniType>(schema: S, input: unknown, handler: string): z.infer<S> {
  const parsed = z.safeParse(schema, input);
  if (!parsed.success) throw new InvalidInputError(`${handler}: invalid input: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Each issue as `path: what was wrong`, joined. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${describeIssue(issue)}`).join('; ');
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
    case 'invalid_format':
      return `must match ${issue.format === 'regex' ? String((issue as { pattern?: string }).pattern) : issue.format}`;
    default:
      return issue.code;
  }
}
