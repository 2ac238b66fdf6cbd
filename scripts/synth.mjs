// `npm run synth`: build, then synthesize every environment of batch-gateway.config.ts to
// cdktf.out/stacks/<environment>. As cdktf.json's app (`--app-only`), cdktf-cli runs this and
// reads what it writes. BATCH_GATEWAY_OFFLINE_PLAN=1 adds the offline-plan provider settings.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Builds, synthesizes every environment, and returns the folder of `stack` (default: dev). */
export async function synth({ quiet = false, stack, offlinePlan = ['1', 'true'].includes(process.env.BATCH_GATEWAY_OFFLINE_PLAN ?? '') } = {}) {
  process.env.CHECKPOINT_DISABLE ??= '1';
  await build({ quiet });
  const started = performance.now();
  const { synthesize, DEFAULT_ENVIRONMENT } = require(path.join(root, 'dist', 'app', 'main.js'));
  const outdir = process.env.CDKTF_OUTDIR ?? path.join(root, 'cdktf.out');
  const app = synthesize({ outdir, offlinePlan });
  const stacks = app.node.children.map((c) => c.node.id);
  const name = stack ?? DEFAULT_ENVIRONMENT;
  const stackDir = path.join(outdir, 'stacks', name);
  if (!stacks.includes(name) || !existsSync(path.join(stackDir, 'cdk.tf.json'))) {
    throw new Error(`no environment '${name}' in batch-gateway.config.ts (it has ${stacks.join(', ')})`);
  }
  if (!quiet) console.log(`synthesized ${stacks.map((s) => path.relative(process.cwd(), path.join(outdir, 'stacks', s, 'cdk.tf.json'))).join(', ')} in ${Math.round(performance.now() - started)} ms`);
  return stackDir;
}

/** `--stack NAME` (or `--stack=NAME`) from an argument list, and the arguments without it. */
export function stackOption(argv) {
  const rest = [];
  let stack;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag !== '--stack') {
      rest.push(argv[i]);
      continue;
    }
    stack = inline ?? argv[++i];
    if (!stack || stack.startsWith('-')) throw new Error('--stack needs the name of an environment of batch-gateway.config.ts');
  }
  return { stack, rest };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const { stack } = stackOption(process.argv.slice(2).filter((a) => a !== '--app-only'));
    await synth({ quiet: process.argv.includes('--app-only'), stack });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
