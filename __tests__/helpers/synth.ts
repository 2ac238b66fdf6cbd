/** Synthesizes constructs in a throwaway stack and reads the resulting Terraform JSON. */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { AssetType, TerraformAsset, TerraformStack, Testing } from 'cdktf';
import { lambdaBundleZip } from '../../modules/shared/bundles';
import { Construct } from 'constructs';
import { SynthesizedConfig, iamRoles, RoleSummary } from '../../scripts/lib/plan-summary';

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
  const json = JSON.parse(Testing.synth(stack as TerraformStack)) as Synthesized;
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
