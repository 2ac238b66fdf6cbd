// `npm run plan-review -- [<plan>] [--stack NAME] [--out FILE] [--fail-on POLICY] [--config cdk.tf.json]`:
// a Markdown review of a terraform plan (see scripts/lib/plan-review.ts): `terraform show -json`
// output, or a saved binary plan, which it shows itself.
// Exit 0: the policy passed; 1: it failed (why on stderr); 2: usage or input error.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const compiled = path.join(root, 'dist/app/scripts/lib/plan-review.js');
const POLICIES = ['stateful', 'replace', 'destroy', 'any-change', 'none'];

const USAGE = `usage: npm run -s plan-review -- [<plan>] [--stack NAME] [--out FILE] [--fail-on ${POLICIES.join('|')}] [--config cdk.tf.json]

  <plan>         the output of \`terraform show -json <planfile>\`, or the saved plan file itself
                 (default: the plan \`npm start\` saved, cdktf.out/stacks/<stack>/plan.tfplan)
  --stack NAME   the environment of batch-gateway.config.ts (default: dev): where the plan and its
                 configuration are looked for
  --out FILE     write the Markdown review to FILE (default: stdout)
  --fail-on P    exit 1 when: a stateful resource is replaced or destroyed (stateful, the default),
                 any replacement (replace), any replacement or destroy (destroy), any change
                 (any-change); never (none)
  --config FILE  the synthesized cdk.tf.json, to read values the plan knows only after apply
                 (default: cdktf.out/stacks/<stack>/cdk.tf.json, for the stack's own plan)`;

/** Bad arguments: printed with the usage. */
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A plan or configuration that cannot be read. */
class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputError';
  }
}

function parseArgs(argv) {
  const options = { failOn: 'stateful' };
  const flags = { '--out': 'out', '--fail-on': 'failOn', '--config': 'config', '--stack': 'stack' };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    const [flag, inline] = arg.startsWith('--') ? arg.split(/=(.*)/s) : [arg];
    if (flag in flags) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      options[flags[flag]] = value;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length > 1) throw new UsageError(`one plan at a time, got ${positional.length}: ${positional.join(' ')}`);
  if (!POLICIES.includes(options.failOn)) throw new UsageError(`--fail-on is '${options.failOn}'; allowed: ${POLICIES.join(', ')}`);
  const stackDir = path.join(root, 'cdktf.out', 'stacks', options.stack ?? 'dev');
  // The stack's configuration goes with the stack's plan only: never with a plan from elsewhere.
  const stackConfig = path.join(stackDir, 'cdk.tf.json');
  const fromStack = positional.length === 0 || options.stack !== undefined;
  return { ...options, plan: positional[0] ?? path.join(stackDir, 'plan.tfplan'), config: options.config ?? (fromStack && existsSync(stackConfig) ? stackConfig : undefined) };
}

/** A saved plan is a zip archive; `terraform show -json` turns it into what the review reads. */
async function showSavedPlan(file) {
  const { terraform, terraformEnv } = require(path.join(root, 'dist/app/scripts/lib/terraform.js'));
  const dir = path.dirname(path.resolve(file));
  try {
    return terraform(dir, ['show', '-json', path.basename(file)], terraformEnv(dir)).stdout;
  } catch (err) {
    throw new InputError(`${file} is a saved binary plan and \`terraform show -json\` could not read it in ${dir} (run it where the plan was made: terraform show -json ${path.basename(file)} > plan.json):\n${err.message}`);
  }
}

async function readJson(file, what) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const hint = err.code === 'ENOENT' && what === 'plan' ? ' (make one with npm start, or give the output of terraform show -json)' : '';
    throw new InputError(`cannot read ${what} ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}${hint}`);
  }
  const isZip = bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  const text = what === 'plan' && isZip ? await showSavedPlan(file) : bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} ${file} is not JSON (${err.message})`);
  }
}

async function loadReview() {
  // The review is TypeScript, compiled by the build; build once when it is missing.
  if (!existsSync(compiled)) {
    const { build } = await import('./build.mjs');
    await build({ quiet: true });
  }
  return require(compiled);
}

try {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const { reviewPlan, PlanFormatError } = await loadReview();
  const plan = await readJson(args.plan, 'plan');
  const config = args.config ? await readJson(args.config, 'configuration') : undefined;
  let review;
  try {
    review = reviewPlan(plan, { failOn: args.failOn, config });
  } catch (err) {
    if (err instanceof PlanFormatError) throw new InputError(`${args.plan}: ${err.message}`);
    throw err;
  }
  if (args.out) {
    writeFileSync(args.out, review.markdown);
    const { create, update, replace, destroy } = review.counts;
    console.log(`plan-review: ${create} to create, ${update} to update, ${replace} to replace, ${destroy} to destroy; wrote ${args.out}`);
  } else {
    process.stdout.write(review.markdown);
  }
  if (review.failed) {
    console.error(`plan-review: --fail-on ${review.failOn} failed:`);
    for (const failure of review.failures) console.error(`  - ${failure}`);
    process.exitCode = 1;
  }
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`plan-review: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof InputError) {
    console.error(`plan-review: ${err.message}`);
    process.exit(2);
  }
  console.error(`plan-review: ${err.stack ?? err}`);
  process.exit(2);
}
