/**
 * What the operator tools (`npm run redrive`, `npm run reconcile`) share: argument errors, the
 * region, and the one-line rendering of an AWS error.
 */
import { isAwsRegion, regionHint } from '../../app/config';

/** A bad command line: the CLI prints the message and its usage, and exits with 1. */
export class UsageError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Exit codes of the operator tools. */
export const EXIT = {
  /** Everything handled (or listed, in a dry run). */
  ok: 0,
  /** Bad arguments, or an AWS call the tool cannot go on without failed. */
  error: 1,
  /** The tool ran, but left something unhandled: see its progress lines. */
  incomplete: 2,
} as const;

/** The options both tools take: where to start executions, whether to start anything, and the region. */
export const SHARED_OPTIONS = {
  'state-machine-arn': { type: 'string' },
  'dry-run': { type: 'boolean' },
  region: { type: 'string' },
} as const;

/** A whole number within [min, max], from a command-line value, or a {@link UsageError} naming the option. */
export function integerOption(option: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${option} must be a whole number from ${min} to ${max} (got '${value}')`);
  }
  return parsed;
}

/** A required string option, or a {@link UsageError} naming it. */
export function requiredOption(option: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${option} is required`);
  return value;
}

/** `--region`, one of the regions a stack can be in; undefined: the SDK's own (AWS_REGION, the profile's region). */
export function regionOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isAwsRegion(value)) throw new UsageError(`--region must be an AWS region such as eu-west-1 (got '${value}')${regionHint(value)}`);
  return value;
}

/** A client's region setting, as every SDK v3 client has it. */
export interface RegionConfigured {
  readonly config: { region(): Promise<string> };
}

/**
 * Checks that the clients have a region before the first call: without one the SDK fails at that
 * call with only "Region is missing". The state machine's ARN names the stack's region, for the hint.
 */
export async function requireRegion(client: RegionConfigured, stateMachineArn: string): Promise<void> {
  try {
    await client.config.region();
  } catch (err) {
    if (!/region is missing/i.test((err as Error).message)) throw err;
    const arnRegion = /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(stateMachineArn)?.[1];
    const hint = arnRegion ? ` (the state machine is in ${arnRegion}: AWS_REGION=${arnRegion})` : '';
    throw new UsageError(`no AWS region: set AWS_REGION or pass --region${hint}`, { cause: err });
  }
}

/** `Name: message` of an error, on one line (SDK errors carry their AWS error code as `name`). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.replace(/\s+/g, ' ');
  return String(err);
}
