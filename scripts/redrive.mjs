// `npm run redrive -- --queue-url URL --state-machine-arn ARN [--table-name NAME] [--dry-run] [--max-messages N] [--region REGION]`:
// starts the executions of the batches in the stream trigger's on-failure queue (see docs/operations.md).
// Runs the compiled scripts/lib/redrive.ts from dist/: `npm run build` first.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const compiled = path.join(root, 'dist/app/scripts/lib/redrive.js');

if (!existsSync(compiled)) {
  console.error(`${path.relative(process.cwd(), compiled)} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const { runRedriveCli } = require(compiled);
process.exitCode = await runRedriveCli(process.argv.slice(2));
