/**
 * The checks of one route's props, pure: BatchGateway runs them at construction and app/config.ts
 * for the configuration file, so both say the same thing of the same mistake.
 */
import { COMPLETION_MODES } from '../../contract';

/** What each kind of route is made of: the key that names its kind, then what it may have besides. */
export const ROUTE_KINDS = {
  image: ['command', 'vcpus', 'memoryMiB', 'environment', 'parameters', 'attempts', 'jobRoleArn', 'maxRunTimeSeconds', 'terminateOnTimeout', 'completion', 'polling', 'allowParameterInterpolation'],
  existingJobDefinition: ['parameters', 'maxRunTimeSeconds', 'terminateOnTimeout', 'completion', 'polling'],
  lambda: ['maxRunTimeSeconds'],
} as const;
export type RouteKind = keyof typeof ROUTE_KINDS;
const KINDS = Object.keys(ROUTE_KINDS) as RouteKind[];

/** What a route that names no kind, or several, is told. */
export const ROUTE_KIND_RULE = 'give exactly one of image (a job definition created here), existingJobDefinition or lambda';

/** The kind a route names (`image`, `existingJobDefinition` or `lambda`), or what is wrong with it. */
export function routeKindOf(route: object): { kind: RouteKind } | { problem: string } {
  const given = KINDS.filter((k) => k in route);
  if (given.length === 1) return { kind: given[0] };
  return { problem: `${ROUTE_KIND_RULE} (got ${given.join(' and ') || 'none'})` };
}

/** What a route's value must be, field by field: the check and its words after "must be". */
export const ROUTE_FIELDS: Record<string, { readonly valid: (value: unknown) => boolean; readonly mustBe: string }> = {
  image: { valid: (v) => typeof v === 'string' && v.length > 0, mustBe: 'a container image such as public.ecr.aws/docker/library/busybox:1.36' },
  existingJobDefinition: { valid: (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(v), mustBe: 'a job definition name ([A-Za-z0-9_-]{1,128}, not an ARN)' },
  lambda: { valid: (v) => v === 'barcode' || (typeof v === 'object' && v !== null && 'functionArn' in v), mustBe: "'barcode' or a function (an ILambdaRouteFunction)" },
  command: { valid: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string'), mustBe: "a list of strings, one per argument, such as ['echo', 'hi']" },
  vcpus: { valid: (v) => typeof v === 'number' && v > 0, mustBe: 'a number of vCPUs such as 0.25 or 1' },
  memoryMiB: { valid: (v) => Number.isInteger(v) && (v as number) > 0, mustBe: 'a whole number of MiB such as 512 or 2048' },
  environment: { valid: isStringMap, mustBe: 'a map of names to strings' },
  parameters: { valid: isStringMap, mustBe: 'a map of parameter names to their default values (strings)' },
  attempts: { valid: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 10, mustBe: 'a whole number from 1 to 10' },
  jobRoleArn: { valid: (v) => typeof v === 'string' && v.length > 0, mustBe: 'an IAM role ARN' },
  // A number: its range is the orchestration's check (it knows the compute type's limit).
  maxRunTimeSeconds: { valid: (v) => typeof v === 'number', mustBe: 'a whole number of seconds such as 3600' },
  terminateOnTimeout: { valid: (v) => typeof v === 'boolean', mustBe: 'true or false' },
  allowParameterInterpolation: { valid: (v) => typeof v === 'boolean', mustBe: 'true or false' },
  completion: { valid: (v) => (COMPLETION_MODES as readonly unknown[]).includes(v), mustBe: COMPLETION_MODES.map((m) => `'${m}'`).join(' or ') },
  polling: { valid: (v) => typeof v === 'object' && v !== null && Object.values(v).every((s) => typeof s === 'number'), mustBe: 'an object of numbers: initialSeconds, multiplier, maxSeconds' },
};

function isStringMap(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** One bad element of a command: what it must be, and what to do (said after the value). */
export interface CommandProblem {
  readonly index: number;
  readonly message: string;
  readonly hint: string;
}

/** `Ref::` and a parameter name as the API accepts it (contract's PARAMETER_NAME_PATTERN). */
const PLACEHOLDER = /Ref::([A-Za-z0-9_]+)/g;
const WHOLE_PLACEHOLDER = /^Ref::[A-Za-z0-9_]+$/;

/**
 * The `Ref::` placeholders of a command that Batch would fill wrongly. A name the route's
 * `parameters` lack: a request may send it, but one that does not leaves Batch's literal
 * `Ref::name` in the command, and a misspelling looks the same; so every name the command takes
 * is declared, with its default (`''` when each request gives it). A placeholder inside a longer
 * argument: Batch substitutes the caller's text into it, which `sh -c` then runs as code; unless
 * the route opts in (`allowParameterInterpolation`), the placeholder must be an argument of its own.
 */
export function commandProblems(command: readonly string[], parameters: Readonly<Record<string, string>> = {}, allowParameterInterpolation = false): CommandProblem[] {
  const known = Object.keys(parameters);
  const problems: CommandProblem[] = [];
  command.forEach((arg, index) => {
    if (!arg.includes('Ref::')) return;
    const names = [...arg.matchAll(PLACEHOLDER)].map((m) => m[1]);
    if (!WHOLE_PLACEHOLDER.test(arg) && !allowParameterInterpolation) {
      const name = names[0] ?? 'name';
      problems.push({
        index,
        message: `must not embed Ref::${name} in a longer argument: Batch pastes a caller's text into it, and a shell runs that text as code`,
        hint: `: pass Ref::${name} as an argument of its own, e.g. ['sh', '-c', 'echo "$0"', 'Ref::${name}'], or set allowParameterInterpolation: true to take that risk`,
      });
    }
    for (const name of names.filter((n, i) => !known.includes(n) && names.indexOf(n) === i)) {
      problems.push({
        index,
        message: `Ref::${name} is not a parameter of the route, ${known.length > 0 ? `whose parameters are ${known.join(', ')}` : 'which has none'}`,
        hint: `: declare each parameter the command takes in parameters, with its default ('' when every request gives it), e.g. parameters: { ${name}: '' }`,
      });
    }
  });
  return problems;
}

/**
 * Every mistake of one route's props, one line each (`<field> must be ... (got ...)`): a kind
 * named none or twice, an unknown prop, a value of the wrong type, a bad `Ref::` placeholder.
 * Ranges that depend on the rest of the gateway (sizes, deadlines) are the modules' own checks.
 */
export function routeProblems(route: unknown): string[] {
  if (typeof route !== 'object' || route === null || Array.isArray(route)) return [`must be a route: an object with image, existingJobDefinition or lambda (got ${JSON.stringify(route)})`];
  const kind = routeKindOf(route);
  if ('problem' in kind) return [kind.problem];
  const allowed: readonly string[] = [kind.kind, ...ROUTE_KINDS[kind.kind]];
  const problems: string[] = [];
  for (const [field, value] of Object.entries(route)) {
    if (!allowed.includes(field)) {
      problems.push(`unknown prop ${field} (${routePropsOf(kind.kind)})`);
      continue;
    }
    const rule = ROUTE_FIELDS[field];
    if (value !== undefined && !rule.valid(value)) problems.push(`${field} must be ${rule.mustBe}${gotOf(value)}`);
  }
  const { command, parameters, allowParameterInterpolation } = route as { command?: unknown; parameters?: unknown; allowParameterInterpolation?: unknown };
  if (kind.kind === 'image' && ROUTE_FIELDS.command.valid(command) && (parameters === undefined || isStringMap(parameters))) {
    for (const p of commandProblems(command as string[], parameters as Record<string, string> | undefined, allowParameterInterpolation === true)) {
      problems.push(`command[${p.index}]: ${p.message}${gotOf((command as string[])[p.index])}${p.hint}`);
    }
  }
  return problems;
}

/** What a route of each kind may have, as said after an unknown prop: `an image route takes image, command, ...`. */
export function routePropsOf(kind: RouteKind): string {
  const name = { image: 'an image route', existingJobDefinition: 'an existingJobDefinition route', lambda: 'a Lambda route' }[kind];
  return `${name} takes ${[kind, ...ROUTE_KINDS[kind]].join(', ')}`;
}

/** ` (got <value>)`, the value as JSON so that `"1"` and `1` differ; a function or construct is not printed. */
function gotOf(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) return ' (got an object)';
  const json = JSON.stringify(value);
  return json === undefined ? '' : ` (got ${json.length > 200 ? `${json.slice(0, 200)}...` : json})`;
}
