/**
 * What local mode reads from the synthesized Terraform JSON: the same artifacts a deployment
 * uses. Terraform references (`${aws_x.id.attr}`) are resolved to local values: names stay the
 * names Terraform would create, ARNs use the local account 000000000000 and region us-east-1.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
export interface CdkTfJson {
  readonly resource: Record<string, Record<string, Json>>;
  readonly data?: Record<string, Record<string, Json>>;
  readonly output?: Record<string, Json>;
}

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export function readSynthesized(stackDir: string): CdkTfJson {
  return JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as CdkTfJson;
}

const REFERENCE = /\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}/g;
/** A data source's attribute (`${data.aws_partition.<id>.partition}`): the ones read offline. */
const DATA_REFERENCE = /\$\{data\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}/g;
/** Local mode emulates the commercial partition. */
const LOCAL_DATA: Record<string, string> = {
  'aws_partition.partition': 'aws',
  'aws_partition.dns_suffix': 'amazonaws.com',
  'aws_region.name': LOCAL_REGION,
};

/** Resolves Terraform references to the values they would have locally; throws on any it cannot. */
export function referenceResolver(config: CdkTfJson, overrides: Record<string, string> = {}): (value: string) => string {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
  const attribute = (type: string, id: string, attr: string): string | undefined => {
    const key = `${type}.${id}.${attr}`;
    if (key in overrides) return overrides[key];
    const r = config.resource[type]?.[id];
    if (!r) return undefined;
    switch (`${type}.${attr}`) {
      case 'aws_dynamodb_table.name':
        return r.name;
      case 'aws_dynamodb_table.arn':
        return arn('dynamodb', `table/${r.name}`);
      case 'aws_dynamodb_table.stream_arn':
        return arn('dynamodb', `table/${r.name}/stream/local`);
      case 'aws_sfn_state_machine.arn':
        return arn('states', `stateMachine:${r.name}`);
      case 'aws_sfn_state_machine.name':
        return r.name;
      case 'aws_lambda_function.arn':
        return arn('lambda', `function:${r.function_name}`);
      case 'aws_lambda_function.function_name':
        return r.function_name;
      case 'aws_batch_job_queue.arn':
        return arn('batch', `job-queue/${r.name}`);
      case 'aws_s3_bucket.bucket':
        return localBucketName(r);
      case 'aws_sns_topic.arn':
        return arn('sns', r.name);
      case 'aws_sqs_queue.arn':
        return arn('sqs', r.name);
      default:
        return undefined;
    }
  };
  return (value: string) =>
    value
      .replace(DATA_REFERENCE, (ref, type: string, _id: string, attr: string) => {
        const resolved = LOCAL_DATA[`${type}.${attr}`];
        if (resolved === undefined) throw new Error(`local mode cannot resolve ${ref}: add a local value for it`);
        return resolved;
      })
      .replace(REFERENCE, (ref, type: string, id: string, attr: string) => {
        const resolved = attribute(type, id, attr);
        if (resolved === undefined) throw new Error(`local mode cannot resolve ${ref}: add a local value for it`);
        return resolved;
      });
}

/** The value of the stack's output `name`, its references resolved. */
export function outputValue(config: CdkTfJson, resolve: (value: string) => string, name: string): string {
  const value = config.output?.[name]?.value;
  if (typeof value !== 'string') throw new Error(`local mode: the stack has no output ${name}`);
  return resolve(value);
}

/** A bucket created with a prefix gets a generated name; locally the prefix plus `local`. */
export function localBucketName(bucket: Json): string {
  return bucket.bucket ?? `${bucket.bucket_prefix ?? 'bucket-'}local`;
}

/** A deployed function: its bundle (from the asset it deploys) and its environment. */
export interface LocalFunction {
  readonly id: string;
  readonly functionName: string;
  readonly bundle: string;
  /** Unresolved: references still `${...}`. */
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
}

export function functionsOf(config: CdkTfJson): LocalFunction[] {
  return Object.entries(config.resource.aws_lambda_function ?? {}).map(([id, fn]) => ({
    id,
    functionName: fn.function_name,
    // assets/<construct>/<hash>/<bundle>.zip: the zip of dist/bundles/<bundle>/index.js
    bundle: path.basename(String(fn.filename), '.zip'),
    environment: fn.environment?.variables ?? {},
    timeoutSeconds: fn.timeout ?? 3,
  }));
}

/** The function a reference such as `${aws_lambda_function.<id>.arn}` or `.invoke_arn` names. */
export function functionReferencedBy(config: CdkTfJson, value: string): LocalFunction | undefined {
  const id = /\$\{aws_lambda_function\.([^.}]+)\.[a-z_]+\}/.exec(value)?.[1];
  return functionsOf(config).find((f) => f.id === id);
}

export interface LocalJobDefinition {
  readonly command: string[];
  readonly environment: Record<string, string>;
  readonly parameters: Record<string, string>;
  readonly timeoutSeconds?: number;
}

/** Batch job definitions by name. */
export function jobDefinitionsOf(config: CdkTfJson): Record<string, LocalJobDefinition> {
  return Object.fromEntries(
    Object.values(config.resource.aws_batch_job_definition ?? {}).map((d) => {
      const container = JSON.parse(d.container_properties) as { command?: string[]; environment?: { name: string; value: string }[] };
      return [
        d.name,
        {
          command: container.command ?? [],
          environment: Object.fromEntries((container.environment ?? []).map((e) => [e.name, e.value])),
          parameters: d.parameters ?? {},
          timeoutSeconds: d.timeout?.attempt_duration_seconds,
        },
      ];
    }),
  );
}

export interface LocalStreamMapping {
  readonly functionId: string;
  readonly tableId: string;
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly maximumRetryAttempts: number;
  /** ESM filter patterns (JSON). */
  readonly filters: Json[];
}

export function streamMappingsOf(config: CdkTfJson): LocalStreamMapping[] {
  return Object.values(config.resource.aws_lambda_event_source_mapping ?? {}).map((m) => ({
    functionId: /\$\{aws_lambda_function\.([^.}]+)\./.exec(m.function_name)![1],
    tableId: /\$\{aws_dynamodb_table\.([^.}]+)\./.exec(m.event_source_arn)![1],
    batchSize: m.batch_size ?? 100,
    batchingWindowSeconds: m.maximum_batching_window_in_seconds ?? 0,
    maximumRetryAttempts: m.maximum_retry_attempts ?? -1,
    filters: (m.filter_criteria?.filter ?? []).map((f: Json) => JSON.parse(f.pattern)),
  }));
}

/** Whether a stream record matches an event source mapping's filter patterns (the subset our patterns use). */
export function matchesFilters(record: Json, filters: Json[]): boolean {
  if (filters.length === 0) return true;
  const matches = (value: unknown, pattern: unknown): boolean => {
    if (Array.isArray(pattern)) return pattern.some((p) => (typeof p === 'object' && p !== null ? false : p === value));
    if (typeof pattern === 'object' && pattern !== null) {
      return Object.entries(pattern).every(([k, p]) => matches((value as Json | undefined)?.[k], p));
    }
    return value === pattern;
  };
  return filters.some((f) => matches(record, f));
}

/** An EventBridge rule of the default bus and the function it delivers to. */
export interface LocalEventRule {
  readonly name: string;
  /** The event pattern, its references resolved. */
  readonly pattern: Json;
  readonly functionId: string;
}

export function eventRulesOf(config: CdkTfJson, resolve: (value: string) => string): LocalEventRule[] {
  return Object.entries(config.resource.aws_cloudwatch_event_target ?? {}).map(([id, target]) => {
    const ruleId = /^\$\{aws_cloudwatch_event_rule\.([^.}]+)\.name\}$/.exec(String(target.rule))?.[1];
    const functionId = /^\$\{aws_lambda_function\.([^.}]+)\.arn\}$/.exec(String(target.arn))?.[1];
    const rule = ruleId ? config.resource.aws_cloudwatch_event_rule?.[ruleId] : undefined;
    if (!rule || !functionId) throw new Error(`local mode: aws_cloudwatch_event_target.${id} must deliver a rule of the stack to a function of the stack`);
    return { name: rule.name, pattern: JSON.parse(resolve(rule.event_pattern)) as Json, functionId };
  });
}

export interface LocalTable {
  readonly id: string;
  readonly name: string;
  readonly hashKey: string;
  readonly indexes: { name: string; hashKey: string }[];
}

export function tablesOf(config: CdkTfJson): LocalTable[] {
  return Object.entries(config.resource.aws_dynamodb_table ?? {}).map(([id, t]) => ({
    id,
    name: t.name,
    hashKey: t.hash_key,
    indexes: (t.global_secondary_index ?? []).map((i: Json) => ({ name: i.name, hashKey: i.hash_key })),
  }));
}
