/**
 * The configuration of this repository's own app (`batch-gateway.config.ts`): one entry per
 * environment, each a stack with its region, its backend and its gateway. Validated with one
 * message that lists every bad value; what a value means is documented on BatchGatewayProps.
 * Secrets (AWS credentials, Terraform Cloud tokens) stay in the environment, never here.
 */
import { z } from 'zod';
import { COMPLETION_MODES } from '../contract';
import type { BatchGatewayProps } from '../modules/gateway';
import { EGRESS_RULE, imageEgressProblem, NETWORK_EGRESS } from '../modules/batch-env/egress';
import { commandProblems, ROUTE_FIELDS, routeKindOf, routePropsOf } from '../modules/gateway/route-checks';
import { LOG_RETENTION_DAYS } from '../modules/shared/naming';

/**
 * The regions hashicorp/aws 5.100.0 accepts (the version the stacks pin), by partition. The provider
 * checks `region` against its own list (`skip_region_validation` turns that off, as the offline plan
 * does), so a typo would pass `npm start` and fail only at a real plan: checked here instead. Source:
 * the provider's aws-sdk-go-base v2.0.0-beta.65 endpoints data (endpoints/endpoints_gen.go, generated
 * from the AWS SDK for Go's endpoints.json), verified against the 5.100.0 binary: a plan accepts
 * every entry and rejects the regions added later (ap-southeast-6, us-isob-west-1).
 * A new region needs an entry here, and a provider version that knows it.
 */
export const AWS_REGIONS = {
  aws: [
    'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
    'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
    'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2',
    'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1',
    'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
} as const satisfies Record<string, readonly string[]>;

const REGIONS: readonly string[] = Object.values(AWS_REGIONS).flat();

/** Whether `value` is one of {@link AWS_REGIONS}. */
export function isAwsRegion(value: string): boolean {
  return REGIONS.includes(value);
}

/**
 * What to say after a value that is not a known region: the region it spells in another case or
 * with spaces; the regions of its kind when only the number differs (probably a region newer than
 * the provider); else the nearest region when the value is a typo or two away from one.
 */
export function regionHint(value: string): string {
  const typed = value.trim().toLowerCase();
  if (REGIONS.includes(typed)) return `: did you mean ${typed}?`;
  const kind = /^(.+)-\d+$/.exec(typed)?.[1];
  const siblings = REGIONS.filter((r) => kind !== undefined && r.replace(/-\d+$/, '') === kind);
  if (siblings.length > 0) return `: hashicorp/aws 5.100.0 knows ${siblings.join(', ')}; a newer region needs a newer provider and an entry in AWS_REGIONS (app/config.ts)`;
  let best: { region: string; distance: number } | undefined;
  for (const region of REGIONS) {
    const distance = editDistance(typed, region);
    if (best === undefined || distance < best.distance) best = { region, distance };
  }
  // Further than that, the value is no typo of a region: the list helps more than a guess.
  if (best !== undefined && best.distance <= 3) return `: did you mean ${best.region}?`;
  return ': not a region hashicorp/aws 5.100.0 knows (AWS_REGIONS in app/config.ts lists them)';
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: optimal string alignment distance. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

const region = z.string().superRefine((value, ctx) => {
  if (isAwsRegion(value)) return;
  // The hint is said after the value: (got "eu-wset-1"): did you mean eu-west-1?
  ctx.addIssue({ code: 'custom', message: 'must be an AWS region such as eu-west-1', params: { hint: regionHint(value) } });
});
const arn = (service: string) => z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`);

const mustBe = (field: keyof typeof ROUTE_FIELDS) => `must be ${ROUTE_FIELDS[field].mustBe}`;
const seconds = () => z.number({ error: mustBe('maxRunTimeSeconds') }).int(mustBe('maxRunTimeSeconds')).positive(mustBe('maxRunTimeSeconds'));
const parameters = z.record(z.string(), z.string({ error: 'must be a string (every parameter value is one)' }), { error: mustBe('parameters') });

const imageRoute = z
  .strictObject({
    image: z.string({ error: mustBe('image') }).min(1, mustBe('image')),
    command: z.array(z.string({ error: 'must be a string (one argument)' }), { error: mustBe('command') }).optional(),
    vcpus: z.number({ error: mustBe('vcpus') }).positive(mustBe('vcpus')).optional(),
    memoryMiB: z.number({ error: mustBe('memoryMiB') }).int(mustBe('memoryMiB')).positive(mustBe('memoryMiB')).optional(),
    environment: z.record(z.string(), z.string(), { error: mustBe('environment') }).optional(),
    parameters: parameters.optional(),
    attempts: z.number({ error: mustBe('attempts') }).int(mustBe('attempts')).min(1, mustBe('attempts')).max(10, mustBe('attempts')).optional(),
    jobRoleArn: arn('iam').optional(),
    maxRunTimeSeconds: seconds().optional(),
    terminateOnTimeout: z.boolean({ error: mustBe('terminateOnTimeout') }).optional(),
    completion: z.enum(COMPLETION_MODES, { error: mustBe('completion') }).optional(),
    polling: z.strictObject({ initialSeconds: z.number().positive(), multiplier: z.number().min(1), maxSeconds: z.number().positive() }).partial().optional(),
    allowParameterInterpolation: z.boolean({ error: mustBe('allowParameterInterpolation') }).optional(),
  })
  // Also when another field is wrong: every bad value is said at once.
  .superRefine(
    (route, ctx) => {
      if (!ROUTE_FIELDS.command.valid(route.command) || !ROUTE_FIELDS.parameters.valid(route.parameters ?? {})) return;
      for (const p of commandProblems(route.command!, route.parameters, route.allowParameterInterpolation === true)) {
        ctx.addIssue({ code: 'custom', path: ['command', p.index], message: p.message, params: { hint: p.hint } });
      }
    },
    { when: () => true },
  );
const existingJobDefinitionRoute = z.strictObject({
  existingJobDefinition: z.string({ error: mustBe('existingJobDefinition') }).regex(/^[A-Za-z0-9_-]{1,128}$/, mustBe('existingJobDefinition')),
  parameters: parameters.optional(),
  maxRunTimeSeconds: seconds().optional(),
  terminateOnTimeout: imageRoute.shape.terminateOnTimeout,
  completion: imageRoute.shape.completion,
  polling: imageRoute.shape.polling,
});
// A configuration file can name the built-in Lambda routes; a function of your own needs a stack of your own.
const lambdaRoute = z.strictObject({ lambda: z.literal('barcode', { error: "must be 'barcode' (a function of your own needs a stack of your own)" }), maxRunTimeSeconds: seconds().optional() });

/**
 * A route, parsed as the kind its key names (`image`, `existingJobDefinition` or `lambda`): a
 * plain union of the three says only "Invalid input" and hides which field is wrong.
 */
const route = z
  .unknown()
  .transform((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.issues.push({ code: 'custom', message: 'must be a route: an object with image, existingJobDefinition or lambda', input: value });
      return z.NEVER;
    }
    const kind = routeKindOf(value);
    if ('problem' in kind) {
      ctx.issues.push({ code: 'custom', message: kind.problem, input: value });
      return z.NEVER;
    }
    const parsed = { image: imageRoute, existingJobDefinition: existingJobDefinitionRoute, lambda: lambdaRoute }[kind.kind].safeParse(value);
    if (parsed.success) return parsed.data;
    // An unknown key is told what the route's kind takes (a typo of `vcpus` shows itself).
    ctx.issues.push(...parsed.error.issues.map((issue) => ({ ...issue, input: undefined, ...(issue.code === 'unrecognized_keys' ? { message: `${issue.message} (${routePropsOf(kind.kind)})` } : {}) })));
    return z.NEVER;
  }) as unknown as z.ZodType<RouteConfig, z.input<typeof imageRoute> | z.input<typeof existingJobDefinitionRoute> | z.input<typeof lambdaRoute>>;
type RouteConfig = z.output<typeof imageRoute> | z.output<typeof existingJobDefinitionRoute> | z.output<typeof lambdaRoute>;

const environmentSchema = z.strictObject({
  /** AWS region of the environment's provider. */
  region,
  /** @default `batch-gateway-<environment>` */
  namePrefix: z.string().optional(),
  /** Terraform Cloud workspace holding the state; without it state is local (`terraform.<environment>.tfstate`). */
  cloud: z.strictObject({ organization: z.string().min(1), workspace: z.string().min(1), hostname: z.string().min(1).optional() }).optional(),
  /** Default tags of every resource, besides Project, Environment and ManagedBy. */
  tags: z.record(z.string(), z.string()).optional(),
  routes: z.record(z.string(), route).refine((r) => Object.keys(r).length > 0, 'must name at least one route'),
  defaultRoute: z.string().optional(),
  authorization: z.enum(['AWS_IAM', 'API_KEY']).optional(),
  throttlingRateLimit: z.number().positive().optional(),
  throttlingBurstLimit: z.number().int().positive().optional(),
  existingTable: z.strictObject({ tableName: z.string().min(1), tableArn: arn('dynamodb'), streamArn: arn('dynamodb') }).optional(),
  tableProps: z.strictObject({ kmsKeyArn: arn('kms').optional(), pointInTimeRecovery: z.boolean().optional(), deletionProtection: z.boolean().optional() }).optional(),
  existingNetwork: z
    .strictObject({
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be subnet ids')).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'must be security group ids')).min(1),
      egress: z.enum(NETWORK_EGRESS, { error: EGRESS_RULE }),
    }, {
      // assignPublicIp was its own setting before egress said it.
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `Unrecognized key: ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (existingNetwork takes subnetIds, securityGroupIds and egress; egress: 'public-ip' gives each Fargate task a public IP)`
          : undefined,
    })
    .optional(),
  networkProps: z.strictObject({ cidrBlock: z.string().optional(), availabilityZones: z.array(z.string()).optional(), availabilityZoneIds: z.array(z.string()).optional() }).optional(),
  existingJobQueueArn: arn('batch').optional(),
  computeType: z.enum(['FARGATE', 'FARGATE_SPOT', 'EC2', 'SPOT']).optional(),
  maxVcpus: z.number().int().min(1).max(10000).optional(),
  instanceTypes: z.array(z.string()).optional(),
  ecrRepositoryArns: z.array(arn('ecr')).optional(),
  artifacts: z.strictObject({ expirationDays: z.number().int().min(1).max(3650).optional(), kmsKeyArn: arn('kms').optional(), forceDestroy: z.boolean().optional() }).optional(),
  connectionTtlSeconds: z.number().int().optional(),
  failureEmail: z.email('must be an e-mail address').optional(),
  monitoring: z.union([z.literal(false), z.strictObject({ alarmEmail: z.email('must be an e-mail address').optional(), thresholds: z.record(z.string(), z.number()).optional() })]).optional(),
  manageApiGatewayAccount: z.boolean().optional(),
  finishedRetentionDays: z.number().int().min(1).max(3650).optional(),
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
    .optional(),
  tracing: z.boolean().optional(),
})
  // Also when another field is wrong: every bad value is said at once.
  .superRefine(
    (environment, ctx) => {
      const egress = environment.existingNetwork?.egress;
      if (egress === undefined || typeof environment.routes !== 'object' || environment.routes === null) return;
      for (const [name, route] of Object.entries(environment.routes)) {
        const image = (route as { image?: unknown } | undefined)?.image;
        const problem = typeof image === 'string' ? imageEgressProblem(image, egress, 'existingNetwork.egress') : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: ['routes', name, 'image'], message: problem.message, params: { hint: problem.hint } });
      }
    },
    { when: () => true },
  );

const configSchema = z.strictObject({
  environments: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'environment names are a-z, 0-9 and -'), environmentSchema).refine((e) => Object.keys(e).length > 0, 'must name at least one environment'),
});

/** One environment as written in the configuration file. */
export type EnvironmentConfig = z.input<typeof environmentSchema>;
/** The configuration file. */
export type BatchGatewayConfig = z.input<typeof configSchema>;

/** Types the configuration file's object (editors check it as you type). */
export function defineConfig(config: BatchGatewayConfig): BatchGatewayConfig {
  return config;
}

/** A configuration that does not parse: its message lists every bad value, one per line. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** One environment, parsed: what its stack needs. */
export interface Environment {
  readonly name: string;
  readonly region: string;
  readonly cloud?: { readonly organization: string; readonly workspace: string; readonly hostname?: string };
  readonly tags: Record<string, string>;
  /** The gateway's props, except what only a stack can make (an existing table as a construct). */
  readonly gateway: Omit<BatchGatewayProps, 'existingTable'>;
  /** The attributes of an existing run-requests table, when the gateway brings its own. */
  readonly existingTable?: { readonly tableName: string; readonly tableArn: string; readonly streamArn: string };
}

/** Parses the configuration; throws ConfigurationError listing every bad value. */
export function parseConfig(config: unknown, source = 'batch-gateway.config.ts'): Environment[] {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(configuration)'}: ${i.message}${describeReceived(config, i.path)}${hintOf(i)}`);
    throw new ConfigurationError(`batch-gateway: invalid configuration in ${source}\n${lines.join('\n')}`);
  }
  return Object.entries(parsed.data.environments).map(([name, { region, namePrefix, cloud, tags, existingTable, ...gateway }]) => ({
    name,
    region,
    cloud,
    tags: { ...(tags ?? {}) },
    existingTable,
    gateway: { namePrefix: namePrefix ?? `batch-gateway-${name}`, ...gateway },
  }));
}

/** What a check adds after the value (a suggestion), if anything. */
function hintOf(issue: z.core.$ZodIssue): string {
  const hint = issue.code === 'custom' ? issue.params?.hint : undefined;
  return typeof hint === 'string' ? hint : '';
}

/** ` (got 'x')` for a bad scalar, so a typo shows itself. */
function describeReceived(config: unknown, path: PropertyKey[]): string {
  const value = path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), config);
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? ` (got ${JSON.stringify(value)})` : '';
}
