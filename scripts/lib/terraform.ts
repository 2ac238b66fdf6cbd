/**
 * Runs the terraform CLI on a synthesized stack: init (offline when a provider mirror is
 * configured), validate, plan. The mirror's location is machine-specific and never appears in
 * source: `TF_PROVIDER_MIRROR` names a filesystem mirror folder, from which a CLI config is
 * written and passed through Terraform's own `TF_CLI_CONFIG_FILE`. Without it, Terraform's own
 * configuration applies (a `TF_CLI_CONFIG_FILE` you set, `~/.terraformrc`, or the registry).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

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
  ) {
    super(message);
    this.name = 'TerraformError';
  }
}

/** The environment terraform runs with: the mirror's CLI config, no telemetry, no prompts. */
export function terraformEnv(workDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  const mirror = base.TF_PROVIDER_MIRROR;
  if (mirror) {
    if (!existsSync(mirror)) throw new TerraformError(`TF_PROVIDER_MIRROR is ${mirror}, which does not exist`);
    const configFile = path.resolve(workDir, '.terraformrc.offline');
    mkdirSync(workDir, { recursive: true });
    writeFileSync(
      configFile,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(path.resolve(mirror))}\n    include = ["registry.terraform.io/*/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n`,
    );
    env.TF_CLI_CONFIG_FILE = configFile;
  }
  return env;
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
  if (result.status !== 0) {
    let hint = '';
    if (args[0] === 'init' && !env.TF_PROVIDER_MIRROR) {
      hint = '\nWithout network access, set TF_PROVIDER_MIRROR to a filesystem mirror holding registry.terraform.io/hashicorp/aws (find one: find / -name "terraform-provider-aws_*" 2>/dev/null).';
    }
    throw new TerraformError(`${run.command} failed (exit ${result.status}):\n${run.stderr || run.stdout}${hint}`, run);
  }
  return run;
}

export interface OfflinePlanResult {
  readonly runs: TerraformRun[];
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

/** init and validate only (no credentials needed at all). */
export function initAndValidate(stackDir: string, base: NodeJS.ProcessEnv = process.env): TerraformRun[] {
  const env = terraformEnv(stackDir, base);
  return [terraform(stackDir, ['init', '-input=false', '-no-color', '-backend=false'], env), terraform(stackDir, ['validate', '-no-color'], env)];
}

/** init, validate, plan -out, show -json, in the stack's folder. */
export function initValidatePlan(stackDir: string, base: NodeJS.ProcessEnv = process.env): OfflinePlanResult {
  const env = terraformEnv(stackDir, base);
  const runs = [
    terraform(stackDir, ['init', '-input=false', '-no-color', '-backend=true'], env),
    terraform(stackDir, ['validate', '-no-color'], env),
    terraform(stackDir, ['plan', '-input=false', '-no-color', '-lock=false', '-refresh=false', '-out=plan.tfplan'], env),
  ];
  const show = terraform(stackDir, ['show', '-json', 'plan.tfplan'], env);
  runs.push({ ...show, stdout: '(plan JSON)' });
  return { runs, planJson: JSON.parse(show.stdout) as TerraformPlanJson };
}
