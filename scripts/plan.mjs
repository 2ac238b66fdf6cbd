// `npm start [-- --stack NAME]` / `npm run plan`: build, synthesize in offline-plan mode, then
// terraform init, validate and plan one environment (dev by default) with no AWS credentials, and
// print the review CI posts on a pull request (scripts/lib/plan-review.ts), saved beside the plan.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackOption, synth } from './synth.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

try {
  const { stack, rest } = stackOption(process.argv.slice(2));
  if (rest.length > 0) throw new Error(`unknown argument ${rest[0]}\nusage: npm start [-- --stack NAME]`);
  // Offline mode: fake keys and skip flags in the provider block. Never set for a deploy.
  const stackDir = await synth({ stack, offlinePlan: true });
  const { initValidatePlan } = require(path.join(root, 'dist/app/scripts/lib/terraform.js'));
  const { reviewPlan } = require(path.join(root, 'dist/app/scripts/lib/plan-review.js'));
  const { runs, planJson } = initValidatePlan(stackDir, process.env, { progress: console.log });
  for (const run of runs) console.log(`${run.command}: ok (${run.ms} ms)`);
  const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  const review = reviewPlan(planJson, { config, title: 'Offline plan review' });
  const reviewFile = path.join(stackDir, 'plan-review.md');
  writeFileSync(reviewFile, review.markdown);
  console.log(`\n${review.markdown}`);
  console.log(`Review: ${path.relative(process.cwd(), reviewFile)}`);
  console.log(`\nSaved plan: ${path.relative(process.cwd(), path.join(stackDir, 'plan.tfplan'))} (offline mode: fake credentials, never apply it)`);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
