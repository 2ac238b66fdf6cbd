// `npm start` / `npm run plan`: build, synthesize the default stack in offline-plan mode, then
// terraform init, validate and plan with no AWS credentials, and print a short review.
import { readFileSync } from 'node:fs';
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
  const { summarize, formatSummary } = require(path.join(root, 'dist/app/scripts/lib/plan-summary.js'));
  const { runs, planJson } = initValidatePlan(stackDir);
  for (const run of runs) console.log(`${run.command}: ok (${run.ms} ms)`);
  const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  console.log(`\n${formatSummary(summarize(config, planJson))}`);
  console.log(`\nSaved plan: ${path.relative(process.cwd(), path.join(stackDir, 'plan.tfplan'))} (offline mode: fake credentials, never apply it)`);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
