// `npm run synth`: build, then synthesize the default stack to cdktf.out/stacks/batch-gateway.
// As cdktf.json's app (`--app-only`), cdktf-cli runs this and reads what it writes.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export async function synth({ quiet = false } = {}) {
  process.env.CHECKPOINT_DISABLE ??= '1';
  await build({ quiet });
  const started = performance.now();
  const { synthDefaultStack, STACK_NAME } = require(path.join(root, 'dist', 'app', 'main.js'));
  synthDefaultStack(process.env.CDKTF_OUTDIR);
  const stackDir = path.join(root, 'cdktf.out', 'stacks', STACK_NAME);
  if (!quiet) console.log(`synthesized ${path.relative(process.cwd(), path.join(stackDir, 'cdk.tf.json'))} in ${Math.round(performance.now() - started)} ms`);
  return stackDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await synth({ quiet: process.argv.includes('--app-only') });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
