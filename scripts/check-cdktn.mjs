// `npm run check:cdktn [-- --test]`: proves the project runs on CDK Terrain (cdktn), the community
// fork of the archived CDKTF, with no source change. In a copy of the repository (.tmp/cdktn):
// `cdktf` resolved to `cdktn`, constructs 10.6, an install, then build, synth of every environment
// and `terraform validate` of each; with --test, the whole `npm test` too. The project itself stays
// on cdktf 0.21, as designed; this is the migration path, kept working.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
export const CDKTN = { cdktf: 'npm:cdktn@0.24.0', constructs: '10.6.0' };

/** package.json with cdktf taken from cdktn, for this project and for the provider bindings that peer on it. */
export function onCdktn(pkg) {
  return {
    ...pkg,
    devDependencies: { ...pkg.devDependencies, cdktf: CDKTN.cdktf, constructs: CDKTN.constructs },
    // The bindings ask for `cdktf` themselves: without this they would pull the original next to the fork.
    overrides: { ...(pkg.overrides ?? {}), '@cdktf/provider-aws': { cdktf: '$cdktf', constructs: '$constructs' } },
  };
}

function step(what, command, args, cwd) {
  const started = performance.now();
  process.stdout.write(`${what} ... `);
  try {
    execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' }, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    console.log('FAILED');
    throw new Error(`${what} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
  console.log(`ok (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

async function main() {
  const runTests = process.argv.includes('--test');
  const copy = path.join(root, '.tmp', 'cdktn');
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  // What git tracks (and what is not committed yet), without node_modules or build output.
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of files) cpSync(path.join(root, file), path.join(copy, file), { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(copy, 'package.json'), 'utf8'));
  writeFileSync(path.join(copy, 'package.json'), `${JSON.stringify(onCdktn(pkg), null, 2)}\n`);
  rmSync(path.join(copy, 'package-lock.json'));
  console.log(`cdktn check in ${path.relative(process.cwd(), copy)}: cdktf -> ${CDKTN.cdktf}, constructs ${CDKTN.constructs}`);

  step('npm install', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], copy);
  const installed = JSON.parse(readFileSync(path.join(copy, 'node_modules', 'cdktf', 'package.json'), 'utf8'));
  if (installed.name !== 'cdktn') throw new Error(`node_modules/cdktf is ${installed.name}@${installed.version}, not cdktn`);
  if (existsSync(path.join(copy, 'node_modules', '@cdktf', 'provider-aws', 'node_modules', 'cdktf'))) throw new Error('the provider bindings installed their own cdktf next to cdktn');
  console.log(`node_modules/cdktf is ${installed.name}@${installed.version}`);

  step('synth (every environment)', process.execPath, ['scripts/synth.mjs'], copy);
  const { initAndValidate } = require(path.join(copy, 'dist', 'app', 'scripts', 'lib', 'terraform.js'));
  for (const stack of readdirSync(path.join(copy, 'cdktf.out', 'stacks'))) {
    const started = performance.now();
    process.stdout.write(`terraform init + validate (${stack}) ... `);
    initAndValidate(path.join(copy, 'cdktf.out', 'stacks', stack));
    console.log(`ok (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  if (runTests) step('npm test', 'npm', ['test'], copy);
  console.log('cdktn check passed');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
