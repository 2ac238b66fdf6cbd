// `npm run bench`: synth wall time of the default stack (build included), and each Lambda
// bundle's size and cold `require` time, each in fresh processes. A benchmark, not a test.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { lambdaNames } from './build.mjs';

const require = createRequire(import.meta.url);

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

// Polling cost per job: our default schedule against the original fixed 60-second poll.
const { pollingCost, FIXED_60_SECONDS } = require(path.join(root, 'dist', 'app', 'modules', 'orchestration', 'polling-cost.js'));
const { DEFAULT_POLLING } = require(path.join(root, 'dist', 'app', 'lambdas', 'shared', 'polling.js'));
console.log(`\nPolling cost per job (default: ${DEFAULT_POLLING.initialSeconds} s x${DEFAULT_POLLING.multiplier} up to ${DEFAULT_POLLING.maxSeconds} s; original: every 60 s):`);
console.log(`  ${'job'.padEnd(6)} ${'schedule'.padEnd(9)} ${'DescribeJobs'.padStart(12)} ${'Lambda calls'.padStart(12)} ${'transitions'.padStart(11)} ${'history events'.padStart(14)} ${'worst delay'.padStart(11)}`);
for (const [label, seconds] of [['1 min', 60], ['1 h', 3600], ['24 h', 86400]]) {
  for (const [name, schedule] of [['default', DEFAULT_POLLING], ['fixed 60', FIXED_60_SECONDS]]) {
    const c = pollingCost(seconds, schedule);
    console.log(`  ${label.padEnd(6)} ${name.padEnd(9)} ${String(c.describeJobsCalls).padStart(12)} ${String(c.lambdaInvocations).padStart(12)} ${String(c.stateTransitions).padStart(11)} ${String(c.historyEvents).padStart(14)} ${`${c.worstCaseDelaySeconds} s`.padStart(11)}`);
  }
}

// A burst through local mode, Batch throttled at 50 calls per second (BENCH_THROUGHPUT_REQUESTS=0 skips it).
const burst = Number(process.env.BENCH_THROUGHPUT_REQUESTS ?? 2000);
if (burst > 0) {
  const { throughput } = await import('./bench-throughput.mjs');
  console.log(`\nThroughput: ${burst} run requests through local mode, Batch throttled at 50 calls/s (takes a few minutes)...`);
  const r = await throughput({ requests: burst });
  console.log(`  accepted at the API          ${r.accepted} of ${r.requests} (${r.acceptedPerSecond.toFixed(1)} per second), rejected ${r.rejectedAtApi}`);
  console.log(`  every job submitted after    ${r.secondsUntilAllSubmitted.toFixed(1)} s (${r.submitJobCalls} SubmitJob calls, no duplicate)`);
  console.log(`  effective SubmitJob rate     ${r.submitJobPerSecond.toFixed(1)}/s = ${((100 * r.submitJobPerSecond) / r.throttleLimit).toFixed(0)} % of the ${r.throttleLimit}/s limit; all Batch calls ${r.batchCallsPerSecondWhileDone.toFixed(1)}/s = ${((100 * r.batchCallsPerSecondWhileDone) / r.throttleLimit).toFixed(0)} %`);
  console.log(`  throttled calls absorbed     ${r.throttledCallsAbsorbed} (SDK retries, then Step Functions' jittered backoff)`);
  console.log(`  all finished after           ${r.secondsUntilAllFinished.toFixed(1)} s: ${JSON.stringify(r.finalStatuses)}`);
  console.log(`  lost                         ${r.lost}`);
}
process.exit(0);
