import { createHash } from 'node:crypto';
import { Token } from 'cdktf';
import { Construct } from 'constructs';

/**
 * A deterministic physical name for a resource, built from the construct path inside its stack
 * (`<stack>-<module>-<suffix>`) so that two instances of a module never collide. Names longer than
 * `maxLength` keep their start and end with a short hash of the full name, so they stay unique and
 * recognisable.
 */
export function physicalName(scope: Construct, suffix = '', maxLength = 64): string {
  const parts = scope.node.scopes.map((s) => s.node.id).filter((id) => id !== '');
  if (suffix) parts.push(suffix);
  return fitName(parts.join('-'), maxLength);
}

/** Sanitizes to `[A-Za-z0-9-]` and shortens with a hash when longer than `maxLength`. */
export function fitName(name: string, maxLength: number): string {
  const clean = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (clean.length <= maxLength) return clean;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${clean.slice(0, maxLength - hash.length - 1)}-${hash}`;
}

/** Throws when a prop's concrete value breaks a rule; unresolved tokens are checked by Terraform. */
export function assertProp(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/**
 * Checks a prop whose value may be a Terraform reference: a literal must pass `valid`; an
 * unresolved token is left to Terraform and the provider.
 */
export function assertLiteral<T>(value: T, valid: (v: T) => boolean, message: string): void {
  if (isLiteral(value)) assertProp(valid(value), message);
}

/** True when the value is a literal (not a Terraform reference resolved at apply time). */
export function isLiteral(value: unknown): boolean {
  return !(typeof value === 'string' && Token.isUnresolved(value)) && !(typeof value === 'number' && Token.isUnresolved(value));
}

/** Validates a CloudWatch Logs retention value (the API accepts only these). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export function assertLogRetention(days: number, owner: string): void {
  assertProp(
    (LOG_RETENTION_DAYS as readonly number[]).includes(days),
    `${owner}: logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')} (got ${days})`,
  );
}
