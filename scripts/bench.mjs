// `npm run bench`: synth wall time of the default stack (build included), and each Lambda
// bundle's size and cold `require` time, each in fresh processes. A benchmark, not a test.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { lambdaNames } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 5);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeProcess(args) {
  const started = performance.now();
  execFileSync(process.execPath, args, { cwd: root, stdio: 'pipe', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  return performance.now() - started;
}

const synthTimes = Array.from({ length: runs }, () => timeProcess([path.join(root, 'scripts', 'synth.mjs')]));
console.log(`synth (build + synth, fresh node process), ${runs} runs: median ${Math.round(median(synthTimes))} ms, min ${Math.round(Math.min(...synthTimes))} ms, max ${Math.round(Math.max(...synthTimes))} ms`);

console.log('\nLambda bundles (esbuild, minified CJS, SDK bundled):');
console.log(`  ${'bundle'.padEnd(20)} ${'size'.padStart(9)} ${'gzip'.padStart(9)} ${'cold require (median)'.padStart(22)}`);
for (const name of lambdaNames()) {
  const file = path.join(root, 'dist', 'bundles', name, 'index.js');
  const size = statSync(file).size;
  const gzip = gzipSync(readFileSync(file)).length;
  const probe = `const t=performance.now();require(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const requireTimes = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, AWS_REGION: 'us-east-1' } })),
  );
  console.log(`  ${name.padEnd(20)} ${`${(size / 1024).toFixed(0)} KB`.padStart(9)} ${`${(gzip / 1024).toFixed(0)} KB`.padStart(9)} ${`${median(requireTimes).toFixed(0)} ms`.padStart(22)}`);
}
