// `npm start` / `npm run plan`: build, synthesize the default stack in offline-plan mode, then
// terraform init, validate and plan with no AWS credentials, and print the review CI posts on a
// pull request (scripts/lib/plan-review.ts, as `npm run plan-review`), saved beside the plan.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { synth } from './synth.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

try {
  // Offline mode: fake keys and skip flags in the provider block. Never set for a deploy.
  process.env.BATCH_GATEWAY_OFFLINE_PLAN = '1';
  const stackDir = await synth();
  const { initValidatePlan } = require(path.join(root, 'dist/app/scripts/lib/terraform.js'));
  const { reviewPlan } = require(path.join(root, 'dist/app/scripts/lib/plan-review.js'));
  const { runs, planJson } = initValidatePlan(stackDir);
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
