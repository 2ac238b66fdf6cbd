/** Synthesizes constructs in a throwaway stack and reads the resulting Terraform JSON. */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { AssetType, TerraformAsset, TerraformStack, Testing } from 'cdktf';
import { lambdaBundleZip } from '../../modules/shared/bundles';
import { Construct } from 'constructs';
import { SynthesizedConfig, iamRoles, RoleSummary } from '../../scripts/lib/plan-summary';
import { type BatchGatewayConfig, type EnvironmentConfig, parseConfig } from '../../app/config';
import defaultConfig from '../../batch-gateway.config';
import { GatewayStack, StackOptions } from '../../main';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export interface Synthesized extends SynthesizedConfig {
  readonly resource: Record<string, Record<string, Json>>;
  readonly data: Record<string, Record<string, Json>>;
  readonly output?: Record<string, Json>;
  readonly provider?: Record<string, Json[]>;
  readonly terraform?: Json;
}

/** Builds a stack with an AWS provider, lets `define` add constructs, returns the parsed JSON. */
export function synthStack(define: (stack: TerraformStack) => void): Synthesized {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  define(stack);
  return parseSynth(stack);
}

export function parseSynth(stack: Construct): Synthesized {
  return parseSynthesized(Testing.synth(stack as TerraformStack));
}

/** A synthesized `cdk.tf.json`, with empty `resource` and `data` blocks where it has none. */
export function parseSynthesized(text: string): Synthesized {
  const json = JSON.parse(text) as Synthesized;
  return { ...json, resource: json.resource ?? {}, data: json.data ?? {} };
}

/** All resources of a type, by logical id. */
export function resourcesOf(json: Synthesized, type: string): Record<string, Json> {
  return json.resource[type] ?? {};
}

/** The one resource of a type; fails when there are none or several. */
export function onlyResource(json: Synthesized, type: string): Json {
  const all = Object.values(resourcesOf(json, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** The resource of a type whose logical id contains `idPart`; fails unless exactly one matches. */
export function resourceNamed(json: Synthesized, type: string, idPart: string): Json {
  const matches = Object.entries(resourcesOf(json, type)).filter(([id]) => id.includes(idPart));
  if (matches.length !== 1) throw new Error(`expected one ${type} with id containing '${idPart}', found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  return matches[0][1];
}

/** Roles with their statements, read the same way the plan review reads them. */
export function rolesOf(json: Synthesized): RoleSummary[] {
  return iamRoles(json);
}

/** The role whose (readable) name contains `namePart`. */
export function roleNamed(json: Synthesized, namePart: string): RoleSummary {
  const matches = rolesOf(json).filter((r) => r.name.includes(namePart));
  if (matches.length !== 1) throw new Error(`expected one role named *${namePart}*, found ${matches.map((r) => r.name).join(', ') || 'none'}`);
  return matches[0];
}

/** `${aws_x.id_ABCDEF12.attr}` for the resource of `type` whose id contains `idPart`. */
export function refTo(json: Synthesized, type: string, idPart: string, attribute: string): string {
  const ids = Object.keys(resourcesOf(json, type)).filter((id) => id.includes(idPart));
  if (ids.length !== 1) throw new Error(`expected one ${type} with id containing '${idPart}', found ${ids.join(', ') || 'none'}`);
  return `\${${type}.${ids[0]}.${attribute}}`;
}

/** The asset hash a function deploying the bundle `name` carries as its source_code_hash. */
export function bundleHash(name: string): string {
  const stack = new TerraformStack(Testing.app(), 'hash');
  return new TerraformAsset(stack, 'code', { path: lambdaBundleZip(name), type: AssetType.FILE }).assetHash;
}

/** The repository's configuration with its `dev` environment changed by `configure` (a deep copy). */
export function devConfig(configure: (dev: EnvironmentConfig) => void = () => undefined): BatchGatewayConfig {
  const config = structuredClone(defaultConfig);
  configure(config.environments.dev);
  return config;
}

/** The `dev` environment's stack, synthesized (with `configure`'s changes to its configuration). */
export function synthDev(configure?: (dev: EnvironmentConfig) => void, options: StackOptions = {}): Synthesized {
  const dev = parseConfig(devConfig(configure)).find((e) => e.name === 'dev')!;
  return parseSynth(new GatewayStack(Testing.app(), dev, options));
}

/** Every name a resource takes in its AWS account, as `<type>:<name>`: what two deployments must not share. */
export function physicalNames(json: Synthesized): string[] {
  const fields: Record<string, string> = {
    aws_iam_role: 'name',
    aws_iam_instance_profile: 'name',
    aws_lambda_function: 'function_name',
    aws_cloudwatch_log_group: 'name',
    aws_api_gateway_rest_api: 'name',
    aws_apigatewayv2_api: 'name',
    aws_sqs_queue: 'name',
    aws_sns_topic: 'name',
    aws_dynamodb_table: 'name',
    aws_sfn_state_machine: 'name',
    aws_batch_job_queue: 'name',
    aws_batch_job_definition: 'name',
    aws_batch_compute_environment: 'compute_environment_name_prefix',
    aws_s3_bucket: 'bucket_prefix',
    aws_kms_alias: 'name',
    aws_cloudwatch_metric_alarm: 'alarm_name',
    aws_cloudwatch_dashboard: 'dashboard_name',
    aws_security_group: 'name',
  };
  return Object.entries(fields).flatMap(([type, field]) => Object.values(resourcesOf(json, type)).map((r) => `${type}:${r[field]}`));
}
