/**
 * Lints .github/workflows/plan.yml: triggers, permissions, pinned actions, npm commands that exist,
 * the plan-review gate and its label, the single updated pull-request comment, and no secret in
 * a script.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | number | boolean>;
  readonly env?: Record<string, string>;
  readonly 'working-directory'?: string;
}

interface Job {
  readonly permissions?: unknown;
  readonly env?: Record<string, string>;
  readonly steps: Step[];
}

interface Workflow {
  readonly on: Record<string, { types?: string[] } | null>;
  readonly permissions: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const root = path.join(__dirname, '..', '..');
const workflowText = readFileSync(path.join(root, '.github', 'workflows', 'plan.yml'), 'utf8');
const workflow = parse(workflowText) as Workflow;
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const job = workflow.jobs.plan;
const steps = job.steps;
const stepIndex = (match: (s: Step) => boolean) => steps.findIndex(match);
const uses = (action: string) => (s: Step) => s.uses?.split('@')[0] === action;
const runs = (pattern: RegExp) => (s: Step) => pattern.test(s.run ?? '');

/** Every `npm <command> [flags] [script]` in a shell script, flags left out. */
function npmCommands(script: string): { command: string; script?: string }[] {
  return [...script.matchAll(/\bnpm((?:[ \t]+-{1,2}[\w-]+)*)[ \t]+([\w-]+)((?:[ \t]+-{1,2}[\w-]+)*)(?:[ \t]+([\w:.-]+))?/g)].map((m) => ({ command: m[2], script: m[4] }));
}

describe('plan workflow (.github/workflows/plan.yml)', () => {
  it('runs on pull requests, again when a label is added or removed', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request']);
    expect(workflow.on.pull_request?.types).toEqual(expect.arrayContaining(['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled']));
  });

  it('asks for the minimal permissions, and no job widens them', () => {
    expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write', 'id-token': 'write' });
    for (const j of Object.values(workflow.jobs)) expect(j.permissions).toBeUndefined();
  });

  it('pins every action by major version', () => {
    const actions = steps.flatMap((s) => s.uses ?? []);

    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  });

  it('sets up Node 22 with the npm cache, and Terraform without the wrapper before the tests', () => {
    const node = steps.find(uses('actions/setup-node'));
    const terraform = steps.find(uses('hashicorp/setup-terraform'));

    expect(node?.with).toMatchObject({ 'node-version': 22, cache: 'npm' });
    expect(terraform?.with?.terraform_wrapper).toBe(false);
    expect(stepIndex(uses('hashicorp/setup-terraform'))).toBeLessThan(stepIndex(runs(/^npm test$/m)));
  });

  it('leaves TF_PROVIDER_MIRROR unset, so the tests init the provider from the registry', () => {
    const envs = [workflow.env, job.env, ...steps.map((s) => s.env)].filter(Boolean) as Record<string, string>[];

    for (const env of envs) expect(Object.keys(env)).not.toContain('TF_PROVIDER_MIRROR');
    expect(job.env).toBeDefined();
    expect(workflowText).toMatch(/tests need|runs terraform/i);
  });

  it('runs checkout, setup-node, npm ci, npm test, synth, terraform plan, the review and the comment, in order', () => {
    const order = [
      stepIndex(uses('actions/checkout')),
      stepIndex(uses('actions/setup-node')),
      stepIndex(runs(/^npm ci$/m)),
      stepIndex(runs(/^npm test$/m)),
      stepIndex(runs(/^npm run synth -- --stack "\$STACK"$/m)),
      stepIndex(runs(/terraform plan .*-out=plan\.tfplan/)),
      stepIndex(runs(/npm run .*plan-review/)),
      stepIndex(uses('actions/github-script')),
    ];

    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('only runs npm commands that exist: package.json scripts, npm test and npm ci', () => {
    const commands = steps.flatMap((s) => npmCommands(s.run ?? ''));

    expect(commands.map((c) => c.command)).toEqual(expect.arrayContaining(['ci', 'test', 'run']));
    for (const { command, script } of commands) {
      if (command === 'run' || command === 'run-script') expect(scripts).toHaveProperty([script ?? '(missing)']);
      else if (command === 'test' || command === 'start') expect(scripts).toHaveProperty([command]);
      else if (command === 'ci') expect(existsSync(path.join(root, 'package-lock.json'))).toBe(true);
      else throw new Error(`unexpected npm command in the workflow: npm ${command}`);
    }
  });

  it('plans one environment, dev unless a repository variable names another, in its own stack folder', () => {
    expect(job.env?.STACK).toBe("${{ vars.BATCH_GATEWAY_STACK || 'dev' }}");
    expect(job.env?.STACK_DIR).toBe("cdktf.out/stacks/${{ vars.BATCH_GATEWAY_STACK || 'dev' }}");
    expect(steps.find(runs(/terraform plan/))?.['working-directory']).toBe('${{ env.STACK_DIR }}');
  });

  it('plans for real: Terraform Cloud (the workspace of the environment configuration) or AWS credentials from OIDC, chosen by a repository variable', () => {
    const aws = steps.find(uses('aws-actions/configure-aws-credentials'));
    const plan = steps.find(runs(/terraform plan/));

    expect(job.env?.PLAN_CREDENTIALS).toMatch(/\$\{\{\s*vars\.PLAN_CREDENTIALS/);
    expect(aws?.if).toMatch(/PLAN_CREDENTIALS == 'aws-oidc'/);
    expect(aws?.with?.['role-to-assume']).toBe('${{ vars.AWS_PLAN_ROLE_ARN }}');
    expect(plan?.env).toEqual({ TF_TOKEN_app_terraform_io: expect.stringMatching(/^\$\{\{\s*secrets\.\w+\s*\}\}$/) });
    expect(plan?.run).toContain('require("./cdk.tf.json").terraform.cloud');
    expect(plan?.run).toMatch(/terraform show -json plan\.tfplan > plan\.json/);
    expect(plan?.run).not.toMatch(/-refresh=false|BATCH_GATEWAY_OFFLINE_PLAN/);
  });

  it('passes --fail-on none to the review only when the pull request is labelled allow-stateful-replacement', () => {
    const review = steps.find(runs(/plan-review/));

    expect(review?.id).toBe('review');
    expect(review?.run).toMatch(/npm run (--silent )?plan-review -- "\$STACK_DIR\/plan\.json" --out review\.md .*--fail-on "\$FAIL_ON"/);
    expect(review?.env?.FAIL_ON).toBe("${{ contains(github.event.pull_request.labels.*.name, 'allow-stateful-replacement') && 'none' || 'stateful' }}");
  });

  it('posts the review even when the policy fails, then fails the job', () => {
    const review = steps.find(runs(/plan-review/));
    const comment = stepIndex(uses('actions/github-script'));
    const gate = stepIndex((s) => /steps\.review\.outputs\.exit-code == '1'/.test(s.if ?? ''));

    expect(review?.run).toMatch(/set \+e/);
    expect(review?.run).toMatch(/exit-code=\$code" >> "\$GITHUB_OUTPUT"/);
    expect(steps[comment].if).toMatch(/!cancelled\(\)/);
    expect(gate).toBeGreaterThan(comment);
    expect(steps[gate].run).toMatch(/exit 1/);
  });

  it('updates one pull-request comment found by its hidden marker, or creates it', () => {
    const script = String(steps.find(uses('actions/github-script'))?.with?.script ?? '');

    expect(script).toContain("const marker = '<!-- batch-gateway-plan-review -->'");
    expect(script).toMatch(/github\.paginate\(github\.rest\.issues\.listComments/);
    expect(script).toMatch(/\.find\(\(c\) => .*c\.body\?\.includes\(marker\)\)/);
    expect(script).toMatch(/if \(existing\) \{\s*await github\.rest\.issues\.updateComment\(\{ owner, repo, comment_id: existing\.id, body \}\);\s*\} else \{\s*await github\.rest\.issues\.createComment/);
    expect(script).toContain('const body = `${marker}\\n${review}`');
  });

  it('echoes no secret: secrets only reach steps through env, never a script', () => {
    const secretVars = steps.flatMap((s) => Object.entries(s.env ?? {}).filter(([, v]) => /secrets\./.test(v)).map(([k]) => k));

    expect(secretVars).toEqual(['TF_TOKEN_app_terraform_io']);
    for (const s of steps) {
      expect(s.run ?? '').not.toMatch(/secrets\./);
      expect(JSON.stringify(s.with ?? {})).not.toMatch(/secrets\./);
      for (const line of (s.run ?? '').split('\n').filter((l) => /\b(echo|printf|cat)\b/.test(l))) {
        for (const name of secretVars) expect(line).not.toContain(name);
      }
    }
    expect(workflowText).not.toMatch(/set -x|ACTIONS_STEP_DEBUG/);
  });
});
