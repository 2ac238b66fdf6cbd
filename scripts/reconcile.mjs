// `npm run reconcile -- --table-name NAME --state-machine-arn ARN [--older-than-minutes 15] [--dry-run] [--region REGION]`:
// starts the executions of run requests still ACCEPTED after the given age (see docs/operations.md).
// Runs the compiled scripts/lib/reconcile.ts from dist/: `npm run build` first.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const compiled = path.join(root, 'dist/app/scripts/lib/reconcile.js');

if (!existsSync(compiled)) {
  console.error(`${path.relative(process.cwd(), compiled)} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const { runReconcileCli } = require(compiled);
process.exitCode = await runReconcileCli(process.argv.slice(2));
