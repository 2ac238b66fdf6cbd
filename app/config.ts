/**
 * The configuration of this repository's own app (`batch-gateway.config.ts`): one entry per
 * environment, each a stack with its region, its backend and its gateway. Validated with one
 * message that lists every bad value; what a value means is documented on BatchGatewayProps.
 * Secrets (AWS credentials, Terraform Cloud tokens) stay in the environment, never here.
 */
import { z } from 'zod';
import { COMPLETION_MODES } from '../contract';
import type { BatchGatewayProps } from '../modules/gateway';
import { LOG_RETENTION_DAYS } from '../modules/shared/naming';

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const arn = (service: string) => z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`);

const imageRoute = z.strictObject({
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  vcpus: z.number().positive().optional(),
  memoryMiB: z.number().int().positive().optional(),
  environment: z.record(z.string(), z.string()).optional(),
  parameters: z.record(z.string(), z.string()).optional(),
  attempts: z.number().int().min(1).max(10).optional(),
  jobRoleArn: arn('iam').optional(),
  maxRunTimeSeconds: z.number().int().positive().optional(),
  terminateOnTimeout: z.boolean().optional(),
  completion: z.enum(COMPLETION_MODES).optional(),
  polling: z.strictObject({ initialSeconds: z.number().positive(), multiplier: z.number().min(1), maxSeconds: z.number().positive() }).partial().optional(),
});
const existingJobDefinitionRoute = z.strictObject({
  existingJobDefinition: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a job definition name'),
  parameters: z.record(z.string(), z.string()).optional(),
  maxRunTimeSeconds: z.number().int().positive().optional(),
  terminateOnTimeout: z.boolean().optional(),
  completion: imageRoute.shape.completion,
  polling: imageRoute.shape.polling,
});
// A configuration file can name the built-in Lambda routes; a function of your own needs a stack of your own.
const lambdaRoute = z.strictObject({ lambda: z.literal('barcode'), maxRunTimeSeconds: z.number().int().positive().optional() });

const environmentSchema = z.strictObject({
  /** AWS region of the environment's provider. */
  region: z.string().regex(AWS_REGION, 'must be an AWS region such as eu-west-1'),
  /** @default `batch-gateway-<environment>` */
  namePrefix: z.string().optional(),
  /** Terraform Cloud workspace holding the state; without it state is local (`terraform.<environment>.tfstate`). */
  cloud: z.strictObject({ organization: z.string().min(1), workspace: z.string().min(1), hostname: z.string().min(1).optional() }).optional(),
  /** Default tags of every resource, besides Project, Environment and ManagedBy. */
  tags: z.record(z.string(), z.string()).optional(),
  routes: z.record(z.string(), z.union([imageRoute, existingJobDefinitionRoute, lambdaRoute])).refine((r) => Object.keys(r).length > 0, 'must name at least one route'),
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
      assignPublicIp: z.boolean().optional(),
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
});

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
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(configuration)'}: ${i.message}${describeReceived(config, i.path)}`);
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

/** ` (got 'x')` for a bad scalar, so a typo shows itself. */
function describeReceived(config: unknown, path: PropertyKey[]): string {
  const value = path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), config);
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? ` (got ${JSON.stringify(value)})` : '';
}
