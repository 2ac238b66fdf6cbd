/**
 * Runs the terraform CLI on a synthesized stack: init, validate, plan. The provider comes from
 * the registry, or from a local filesystem mirror: the one `TF_PROVIDER_MIRROR` names (any level of
 * its tree), or, when init cannot reach the registry, one found on the machine (provider-mirror.ts).
 * A mirror is handed to Terraform as a CLI config written beside the stack and passed through
 * Terraform's own `TF_CLI_CONFIG_FILE`. Without a mirror, Terraform's own configuration applies
 * (a `TF_CLI_CONFIG_FILE` you set, `~/.terraformrc`, or the registry).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AWS_PROVIDER, findProviderMirror, MirrorSearchOptions, mirroredVersions, mirrorRootOf, ProviderMirror, terraformPlatform } from './provider-mirror';

export interface TerraformRun {
  readonly command: string;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class TerraformError extends Error {
  constructor(
    message: string,
    public readonly run?: TerraformRun,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TerraformError';
  }
}

/** Receives a line when the tools choose a provider mirror. */
export type TerraformProgress = (line: string) => void;

/**
 * The environment terraform runs with: no telemetry, no prompts, and the CLI config of a provider
 * mirror: `mirrorRoot`, else `TF_PROVIDER_MIRROR` (any level of the mirror's tree), else none.
 */
export function terraformEnv(workDir: string, base: NodeJS.ProcessEnv = process.env, mirrorRoot?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  const root = mirrorRoot ?? (base.TF_PROVIDER_MIRROR ? tfProviderMirrorRoot(base.TF_PROVIDER_MIRROR) : undefined);
  if (root) {
    const configFile = path.resolve(workDir, '.terraformrc.offline');
    mkdirSync(workDir, { recursive: true });
    writeFileSync(
      configFile,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(root)}\n    include = ["registry.terraform.io/*/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n`,
    );
    env.TF_CLI_CONFIG_FILE = configFile;
  }
  return env;
}

/** The mirror root of `TF_PROVIDER_MIRROR`; a TerraformError saying what was expected when it is none. */
function tfProviderMirrorRoot(given: string, version?: string): string {
  try {
    return mirrorRootOf(given, { version });
  } catch (err) {
    throw new TerraformError((err as Error).message, undefined, { cause: err });
  }
}

/** Runs `terraform <args>` in `dir`; throws a TerraformError with its output when it fails. */
export function terraform(dir: string, args: string[], env: NodeJS.ProcessEnv): TerraformRun {
  const started = performance.now();
  const result = spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const run: TerraformRun = {
    command: `terraform ${args.join(' ')}`,
    ms: Math.round(performance.now() - started),
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
  };
  if (result.error) {
    const hint = (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? ': terraform is not on PATH (install Terraform >= 1.5)' : '';
    throw new TerraformError(`${run.command} could not start${hint}: ${result.error.message}`, run);
  }
  if (result.status !== 0) throw new TerraformError(`${run.command} failed (exit ${result.status}):\n${run.stderr || run.stdout}`, run);
  return run;
}

/** The exact hashicorp/aws version a synthesized stack requires (cdktf pins one), if it pins one. */
export function requiredProviderVersion(stackDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    const version = config.terraform?.required_providers?.[AWS_PROVIDER.type]?.version;
    return typeof version === 'string' && /^\d+\.\d+\.\d+$/.test(version.trim()) ? version.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a failed init failed for lack of access to the provider: the registry (or the download)
 * unreachable, or a CLI config that allows neither. Any other failure (a bad configuration, a
 * backend) is reported as it is: a mirror would not help.
 */
export function providerUnreachable(run: TerraformRun): boolean {
  const output = `${run.stderr}\n${run.stdout}`.replace(/\s+/g, ' ');
  const aboutProvider = output.includes(AWS_PROVIDER.hostname) || output.includes(`${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type}`);
  const noAccess =
    /could not connect to|failed to request discovery document|no such host|i\/o timeout|connection refused|connection reset|network is unreachable|TLS handshake timeout|context deadline exceeded|Client\.Timeout|proxyconnect|was not found in any of the search locations/i;
  return aboutProvider && noAccess.test(output);
}

/**
 * `terraform init` with the provider from the registry, or a mirror: `TF_PROVIDER_MIRROR` when
 * set (then the registry is not tried), else the registry first and, only when that fails for lack
 * of access, a mirror found on the machine. Says on one line which mirror it used. Returns the
 * init's run and the environment the later commands need (the mirror's CLI config).
 */
export function terraformInit(stackDir: string, initArgs: string[], base: NodeJS.ProcessEnv = process.env, options: TerraformOptions = {}): { run: TerraformRun; env: NodeJS.ProcessEnv; mirror?: ProviderMirror } {
  const progress = options.progress ?? (() => undefined);
  const version = requiredProviderVersion(stackDir);
  const args = ['init', ...initArgs];
  if (base.TF_PROVIDER_MIRROR) {
    const root = tfProviderMirrorRoot(base.TF_PROVIDER_MIRROR, version);
    const mirror: ProviderMirror = { root, versions: mirroredVersions(root), source: `TF_PROVIDER_MIRROR=${base.TF_PROVIDER_MIRROR}` };
    progress(`provider mirror: ${root} (${mirror.source})`);
    const env = terraformEnv(stackDir, base, root);
    return { run: terraform(stackDir, args, env), env, mirror };
  }
  const env = terraformEnv(stackDir, base);
  let firstError: TerraformError;
  try {
    return { run: terraform(stackDir, args, env), env };
  } catch (err) {
    if (!(err instanceof TerraformError) || err.run === undefined || !providerUnreachable(err.run)) throw err;
    firstError = err;
  }
  const wanted = [`${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type}`, version, `(${terraformPlatform()})`].filter(Boolean).join(' ');
  progress(`terraform init could not get ${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type} from the registry: looking for a local mirror of ${wanted}`);
  const search = findProviderMirror({ ...options.mirrorSearch, version });
  if (!search.mirror) {
    const others = search.otherVersions.map((m) => `${m.root} holds ${m.versions.join(', ')}`);
    throw new TerraformError(
      [
        `terraform init could not get ${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type} from the registry, and no local mirror of ${wanted} was found${others.length ? ` (${others.join('; ')})` : ''}.`,
        `Looked in: ${search.searched.join(', ')}.`,
        `Set TF_PROVIDER_MIRROR to a Terraform filesystem mirror (the folder holding ${AWS_PROVIDER.hostname}/, or any folder or file below it), or give terraform access to ${AWS_PROVIDER.hostname}.`,
        `Terraform said:\n${firstError.run?.stderr || firstError.run?.stdout}`,
      ].join('\n'),
      firstError.run,
      { cause: firstError },
    );
  }
  progress(`provider mirror: ${search.mirror.root} (${search.mirror.source}; the registry is out of reach)`);
  const mirrorEnv = terraformEnv(stackDir, base, search.mirror.root);
  return { run: terraform(stackDir, args, mirrorEnv), env: mirrorEnv, mirror: search.mirror };
}

export interface OfflinePlanResult {
  /** The commands that ran, each once it succeeded (an init that fell back to a mirror: the one that worked). */
  readonly runs: TerraformRun[];
  /** The provider mirror init used. @default - none: the registry (or Terraform's own CLI config) */
  readonly mirror?: ProviderMirror;
  /** `terraform show -json` of the saved plan. */
  readonly planJson: TerraformPlanJson;
}

/** The parts of Terraform's JSON plan format (format_version 1.x) that reviews read. */
export interface TerraformPlanJson {
  readonly format_version: string;
  readonly resource_changes?: {
    readonly address: string;
    readonly module_address?: string;
    readonly type: string;
    readonly name: string;
    readonly mode: 'managed' | 'data';
    readonly change: {
      readonly actions: string[];
      readonly before: unknown;
      readonly after: unknown;
      readonly replace_paths?: unknown[][];
    };
    readonly action_reason?: string;
  }[];
  readonly configuration?: unknown;
}

/** Options of {@link initAndValidate} and {@link initValidatePlan}. */
export interface TerraformOptions {
  /** Receives the line that says which provider mirror init used (and that it is looking for one). @default - nothing printed */
  readonly progress?: TerraformProgress;
  /** Where to look for a mirror when the registry is out of reach. @default - findProviderMirror's defaults */
  readonly mirrorSearch?: Omit<MirrorSearchOptions, 'version'>;
}

/** init and validate only (no credentials needed at all). */
export function initAndValidate(stackDir: string, base: NodeJS.ProcessEnv = process.env, options: TerraformOptions = {}): TerraformRun[] {
  const init = terraformInit(stackDir, ['-input=false', '-no-color', '-backend=false'], base, options);
  return [init.run, terraform(stackDir, ['validate', '-no-color'], init.env)];
}

/** init, validate, plan -out, show -json, in the stack's folder. */
export function initValidatePlan(stackDir: string, base: NodeJS.ProcessEnv = process.env, options: TerraformOptions = {}): OfflinePlanResult {
  const init = terraformInit(stackDir, ['-input=false', '-no-color', '-backend=true'], base, options);
  const env = init.env;
  const runs = [
    init.run,
    terraform(stackDir, ['validate', '-no-color'], env),
    terraform(stackDir, ['plan', '-input=false', '-no-color', '-lock=false', '-refresh=false', '-out=plan.tfplan'], env),
  ];
  const show = terraform(stackDir, ['show', '-json', 'plan.tfplan'], env);
  runs.push({ ...show, stdout: '(plan JSON)' });
  return { runs, mirror: init.mirror, planJson: JSON.parse(show.stdout) as TerraformPlanJson };
}
