import { createHash } from 'node:crypto';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Token } from 'cdktf';
import { IConstruct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE, metricsNamespaceFor } from '../../contract';

const namePrefixes = new WeakMap<IConstruct, string>();

/** Names of every resource below `scope` start with `prefix` instead of the construct path above it. */
export function setNamePrefix(scope: IConstruct, prefix: string): void {
  assertProp(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/.test(prefix), `namePrefix must be 2 to 24 characters of a-z, 0-9 and -, starting with a letter and not ending with - (got '${prefix}')`);
  namePrefixes.set(scope, prefix);
}

/** The name prefix `scope` is under, and the construct ids below the scope that set it. */
function nameParts(scope: IConstruct): { prefix?: string; ids: string[] } {
  const scopes = scope.node.scopes;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const prefix = namePrefixes.get(scopes[i]);
    if (prefix !== undefined) return { prefix, ids: scopes.slice(i + 1).map((s) => s.node.id) };
  }
  return { ids: scopes.map((s) => s.node.id).filter((id) => id !== '') };
}

/**
 * A deterministic physical name for a resource: the name prefix of the gateway it belongs to (or,
 * outside a gateway, its stack's id), then the construct path below it and `suffix`
 * (`<prefix>-<module>-<suffix>`), so that two instances never collide. Names longer than
 * `maxLength` keep their start and end with a short hash of the full name, so they stay unique
 * and recognisable.
 */
export function physicalName(scope: IConstruct, suffix = '', maxLength = 64): string {
  const { prefix, ids } = nameParts(scope);
  const parts = prefix === undefined ? ids : [prefix, ...ids];
  if (suffix) parts.push(suffix);
  return fitName(parts.join('-'), maxLength);
}

/** The longest region name (e.g. `us-isof-south-1`): room kept for it in IAM names. */
const MAX_REGION_LENGTH = 15;

/**
 * The name of an IAM role or instance profile. IAM is global: the name ends with the region, so
 * that the same gateway deployed in two regions of one account never collides.
 */
export function iamName(scope: IConstruct, suffix = '', maxLength = 64): string {
  return `${physicalName(scope, suffix, maxLength - 1 - MAX_REGION_LENGTH)}-${regionOf(scope)}`;
}

/** The region of the stack's AWS provider, from one `aws_region` data source per stack (read offline). */
export function regionOf(scope: IConstruct): string {
  const stack = TerraformStack.of(scope);
  const id = 'batch-gateway-region';
  const region = (stack.node.tryFindChild(id) as DataAwsRegion | undefined) ?? new DataAwsRegion(stack, id);
  return region.name;
}

/**
 * The partition of the stack's AWS provider (`aws`, `aws-cn`, `aws-us-gov`), for an ARN the stack
 * writes without a resource to take it from (`arn:<partition>:states:::sns:publish`), from one
 * `aws_partition` data source per stack (the provider knows it from its region: read offline).
 * A service principal is not partitioned: it stays `<service>.amazonaws.com` in every partition.
 */
export function partitionOf(scope: IConstruct): string {
  const stack = TerraformStack.of(scope);
  const id = 'batch-gateway-partition';
  return ((stack.node.tryFindChild(id) as DataAwsPartition | undefined) ?? new DataAwsPartition(stack, id)).partition;
}

/** The region the stack's default AWS provider is configured with, when it is a literal. */
export function providerRegion(scope: IConstruct): string | undefined {
  const provider = TerraformStack.of(scope)
    .node.findAll()
    .find((c): c is AwsProvider => c instanceof AwsProvider && c.alias === undefined);
  const region = provider?.region;
  return region !== undefined && isLiteral(region) ? region : undefined;
}

/** The CloudWatch namespace of the pipeline's own metrics for what `scope` belongs to. */
export function metricsNamespaceOf(scope: IConstruct): string {
  const { prefix } = nameParts(scope);
  return prefix === undefined ? DEFAULT_METRICS_NAMESPACE : metricsNamespaceFor(prefix);
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
