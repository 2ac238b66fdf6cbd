/**
 * `npm start`'s init path (initValidatePlan) without TF_PROVIDER_MIRROR, under a Terraform CLI config
 * that allows no provider source: the first init fails as it does on a machine without registry
 * access, and the tools find a mirror on this machine and plan. The tests that need a mirror are
 * skipped, visibly, on a machine that has none (a connected CI runner): there the registry serves.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_ENVIRONMENT, synthesize } from '../../main';
import { findProviderMirror, mirroredVersions, terraformPlatform } from '../../scripts/lib/provider-mirror';
import { initAndValidate, initValidatePlan, requiredProviderVersion, TerraformError } from '../../scripts/lib/terraform';

const outdir = path.join(__dirname, '..', '..', '.tmp', 'terraform-init-test');
/** The mirror this machine has, found as npm start finds it; undefined on a machine with none. */
const machineMirror = findProviderMirror().mirror;
const withMirror = machineMirror ? it : it.skip;

describe('terraform init without registry access', () => {
  let stackDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    synthesize({ outdir, offlinePlan: true });
    stackDir = path.join(outdir, 'stacks', DEFAULT_ENVIRONMENT);
    // Only a filesystem mirror nobody has: every provider is refused, the registry included.
    const noNetwork = path.join(outdir, 'no-network.tfrc');
    writeFileSync(noNetwork, 'provider_installation {\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n');
    env = { ...process.env, TF_CLI_CONFIG_FILE: noNetwork };
    delete env.TF_PROVIDER_MIRROR;
  }, 60_000);

  withMirror('finds a local mirror, says which, and plans', () => {
    const lines: string[] = [];
    const dir = path.join(outdir, 'found');
    rmSync(dir, { recursive: true, force: true });
    // A copy of the stack, so that its .terraform from another test cannot spare it the first init.
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(require(path.join(stackDir, 'cdk.tf.json'))));

    const result = initValidatePlan(dir, env, { progress: (line) => lines.push(line) });

    const version = requiredProviderVersion(dir)!;
    expect(result.mirror).toBeDefined();
    expect(mirroredVersions(result.mirror!.root)).toContain(version);
    expect(lines).toEqual([
      `terraform init could not get hashicorp/aws from the registry: looking for a local mirror of hashicorp/aws ${version} (${terraformPlatform()})`,
      `provider mirror: ${result.mirror!.root} (${result.mirror!.source}; the registry is out of reach)`,
    ]);
    expect(result.runs.map((r) => r.command.split(' ').slice(0, 2).join(' '))).toEqual(['terraform init', 'terraform validate', 'terraform plan', 'terraform show']);
    expect(result.planJson.resource_changes?.length).toBeGreaterThan(100);
  }, 180_000);

  it('says where it looked and what to set when no mirror is found, with what Terraform said', () => {
    const nowhere = path.join(outdir, 'nowhere');
    mkdirSync(nowhere, { recursive: true });

    let error: unknown;
    try {
      initAndValidate(stackDir, env, { mirrorSearch: { candidates: [nowhere], searchRoots: [] } });
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(TerraformError);
    const message = (error as Error).message;
    expect(message.split('\n').slice(0, 3)).toEqual([
      `terraform init could not get hashicorp/aws from the registry, and no local mirror of hashicorp/aws ${requiredProviderVersion(stackDir)} (${terraformPlatform()}) was found.`,
      `Looked in: ${nowhere}.`,
      'Set TF_PROVIDER_MIRROR to a Terraform filesystem mirror (the folder holding registry.terraform.io/, or any folder or file below it), or give terraform access to registry.terraform.io.',
    ]);
    expect(message).toMatch(/Terraform said:\n[\s\S]*was not found in any of the\s+search locations/);
  }, 60_000);

  withMirror('uses TF_PROVIDER_MIRROR at any level of the tree, without trying the registry', () => {
    const root = machineMirror!.root;
    const platformFolder = path.join(root, 'registry.terraform.io', 'hashicorp', 'aws', requiredProviderVersion(stackDir)!, terraformPlatform());
    const lines: string[] = [];

    const [init] = initAndValidate(stackDir, { ...env, TF_PROVIDER_MIRROR: platformFolder }, { progress: (line) => lines.push(line) });

    expect(init.command).toMatch(/^terraform init/);
    expect(lines).toEqual([`provider mirror: ${root} (TF_PROVIDER_MIRROR=${platformFolder})`]);
  }, 60_000);
});
