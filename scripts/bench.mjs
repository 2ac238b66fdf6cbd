// `npm run bench [-- --json FILE]`: synth wall time of the default stack (build included), each
// Lambda bundle's size and cold `require` time (fresh processes), the cost per job of each
// completion mode, and bursts through local mode: first at the REST stage's deployed throttle (how
// many the stage answers 429), then with that throttle off (local mode's own throughput,
// completion, lost events). A benchmark, not a test; --json writes the headline figures to FILE.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { lambdaNames } from './build.mjs';

const require = createRequire(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const jsonFlag = process.argv.indexOf('--json');
const jsonFile = jsonFlag >= 0 ? path.resolve(process.argv[jsonFlag + 1] ?? 'bench.json') : undefined;

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

const bundles = {};
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
  bundles[name] = { bytes: size, gzipBytes: gzip, coldRequireMs: Math.round(median(requireTimes)) };
  console.log(`  ${name.padEnd(20)} ${`${(size / 1024).toFixed(0)} KB`.padStart(9)} ${`${(gzip / 1024).toFixed(0)} KB`.padStart(9)} ${`${median(requireTimes).toFixed(0)} ms`.padStart(22)}`);
}

// Cost per job by completion mode: events (the default safety net), polling (its default
// schedule), and the original fixed 60-second poll.
const { pollingCost, FIXED_60_SECONDS } = require(path.join(root, 'dist', 'app', 'modules', 'orchestration', 'polling-cost.js'));
const { DEFAULT_POLLING, DEFAULT_EVENT_SAFETY_NET } = require(path.join(root, 'dist', 'app', 'contract', 'index.js'));
const MODES = [
  ['events', DEFAULT_EVENT_SAFETY_NET, 'events'],
  ['poll', DEFAULT_POLLING, 'poll'],
  ['fixed 60', FIXED_60_SECONDS, 'poll'],
];
const costs = {};
console.log(`\nCost per job (events: checks after ${DEFAULT_EVENT_SAFETY_NET.initialSeconds} s x${DEFAULT_EVENT_SAFETY_NET.multiplier} up to ${DEFAULT_EVENT_SAFETY_NET.maxSeconds} s; poll: ${DEFAULT_POLLING.initialSeconds} s x${DEFAULT_POLLING.multiplier} up to ${DEFAULT_POLLING.maxSeconds} s; original: every 60 s):`);
console.log(`  ${'job'.padEnd(6)} ${'completion'.padEnd(10)} ${'DescribeJobs'.padStart(12)} ${'Lambda calls'.padStart(12)} ${'transitions'.padStart(11)} ${'history events'.padStart(14)}   job's end seen after`);
for (const [label, seconds] of [['1 min', 60], ['1 h', 3600], ['24 h', 86400]]) {
  for (const [name, schedule, completion] of MODES) {
    const c = pollingCost(seconds, schedule, completion);
    costs[`${label} ${name}`] = c;
    // With events the end is seen when its event arrives; the worst delay is a lost event's.
    const delay = completion === 'events' ? `seconds; ${c.worstCaseDelaySeconds} s if its event is lost` : `${c.worstCaseDelaySeconds} s`;
    console.log(`  ${label.padEnd(6)} ${name.padEnd(10)} ${String(c.describeJobsCalls).padStart(12)} ${String(c.lambdaInvocations).padStart(12)} ${String(c.stateTransitions).padStart(11)} ${String(c.historyEvents).padStart(14)}   ${delay}`);
  }
}

const figures = {
  synthMs: Math.round(median(synthTimes)),
  bundles,
  costPerJob: {
    oneHour: {
      events: pick(costs['1 h events']),
      poll: pick(costs['1 h poll']),
    },
  },
};
function pick(c) {
  return { describeJobsCalls: c.describeJobsCalls, stateTransitions: c.stateTransitions, lambdaInvocations: c.lambdaInvocations, historyEvents: c.historyEvents };
}

function printBurst(r) {
  const stage = r.apiThrottle ? `${r.apiThrottle.rateLimit}/s, burst ${r.apiThrottle.burstLimit}` : 'off (unthrottled)';
  console.log(`  stage throttle               ${stage}: ${r.throttledAtApi} of ${r.requests} answered 429 in ${r.burstSeconds.toFixed(1)} s`);
  console.log(`  accepted at the API          ${r.accepted} of ${r.requests} (${r.acceptedPerSecond.toFixed(1)} per second), rejected otherwise ${r.rejectedAtApi} ${JSON.stringify(r.rejections)}`);
  console.log(`  every job submitted after    ${r.secondsUntilAllSubmitted.toFixed(1)} s (${r.submitJobCalls} SubmitJob calls, ${r.duplicateJobs} duplicate jobs)`);
  console.log(`  effective SubmitJob rate     ${r.submitJobPerSecond.toFixed(1)}/s = ${r.submitJobRatePercent.toFixed(0)} % of the ${r.throttleLimit}/s limit`);
  console.log(`  Batch calls                  ${JSON.stringify(r.batchCalls)}: ${r.batchCallsPerJob.toFixed(2)} per job; ${r.throttledCallsAbsorbed} throttled and retried`);
  console.log(`  all finished after           ${r.secondsUntilAllFinished.toFixed(1)} s: ${JSON.stringify(r.finalStatuses)}; lost ${r.lost}`);
  if (r.completion.jobs > 0) console.log(`  job end -> status recorded   p50 ${r.completion.p50Seconds.toFixed(3)} s, p95 ${r.completion.p95Seconds.toFixed(3)} s, max ${r.completion.maxSeconds.toFixed(3)} s (${r.completion.jobs} jobs)`);
  console.log(`  events                       ${JSON.stringify(r.events)}`);
}

/** The dev stack with every Batch route polling only: the figures before events. */
function pollOnlyStack() {
  const { synthesize } = require(path.join(root, 'dist', 'app', 'main.js'));
  const config = structuredClone(require(path.join(root, 'dist', 'app', 'batch-gateway.config.js')).default);
  for (const route of Object.values(config.environments.dev.routes)) if (!('lambda' in route)) route.completion = 'poll';
  const outdir = path.join(root, '.tmp', 'bench-poll-only');
  synthesize({ outdir, config });
  return path.join(outdir, 'stacks', 'dev');
}

// A burst through local mode, Batch throttled at 50 calls per second (BENCH_THROUGHPUT_REQUESTS=0 skips it).
const burst = Number(process.env.BENCH_THROUGHPUT_REQUESTS ?? 2000);
if (burst > 0) {
  const { throughputInChildProcess: throughput } = await import('./bench-throughput.mjs');
  // What a deployment does with the burst: the stage's throttle, as synthesized, answers most of it 429.
  console.log(`\nThe burst at the deployed stage throttle: ${burst} run requests through local mode, REST stage throttled as synthesized...`);
  const staged = throughput({ requests: burst });
  printBurst(staged);
  figures.stageThrottle = {
    requests: staged.requests,
    rateLimit: staged.apiThrottle?.rateLimit,
    burstLimit: staged.apiThrottle?.burstLimit,
    throttled: staged.throttledAtApi,
    accepted: staged.accepted,
    burstSeconds: staged.burstSeconds,
    lost: staged.lost,
    duplicateJobs: staged.duplicateJobs,
  };
  // Every burst below passes the stage's throttle (--no-api-throttle): they measure local mode's own
  // pipeline, which a stage at its default would never feed this fast.
  console.log(`\nThroughput, UNTHROTTLED at the API (--no-api-throttle), events completion (the default): ${burst} run requests through local mode, Batch throttled at 50 calls/s...`);
  const events = throughput({ requests: burst, apiThrottle: false });
  printBurst(events);
  // Local mode runs the API, the stream, Step Functions and every Lambda on one event loop (DynamoDB
  // on a thread beside it, the jobs' processes started by a helper): on a 2-core machine it cannot
  // submit 50 jobs a second itself. Under a limit it can exceed, the share of the limit SubmitJob
  // reaches shows how the throttling is absorbed.
  const lowerLimit = Number(process.env.BENCH_LOWER_LIMIT ?? 20);
  console.log(`\nThe same burst, unthrottled at the API, with Batch throttled at ${lowerLimit} calls/s (under what local mode can submit)...`);
  const limited = throughput({ requests: burst, throttle: lowerLimit, apiThrottle: false });
  printBurst(limited);
  // 10 % of events lost: every run must still end right, the lost ends found by the safety net
  // (waits scaled by 0.01: the first check after 9 s).
  const dropRequests = Math.min(burst, 200);
  console.log(`\n${dropRequests} run requests, unthrottled at the API, with 10 % of the events lost (safety-net checks scaled by 0.01)...`);
  const dropped = throughput({ requests: dropRequests, waitScale: 0.01, eventFaults: { lostRate: 0.1 }, apiThrottle: false });
  printBurst(dropped);
  figures.throughput = {
    apiThrottle: 'off',
    requests: events.requests,
    submitJobRatePercent: events.submitJobRatePercent,
    submitJobPerSecond: events.submitJobPerSecond,
    lost: events.lost,
    duplicateJobs: events.duplicateJobs,
    batchCallsPerJob: events.batchCallsPerJob,
    throttledCalls: events.throttledCallsAbsorbed,
    rejectedAtApi: events.rejectedAtApi,
    secondsUntilAllFinished: events.secondsUntilAllFinished,
    atLowerLimit: { throttleLimit: lowerLimit, submitJobRatePercent: limited.submitJobRatePercent, throttledCalls: limited.throttledCallsAbsorbed, lost: limited.lost, duplicateJobs: limited.duplicateJobs, batchCallsPerJob: limited.batchCallsPerJob },
  };
  figures.completion = {
    p50Seconds: events.completion.p50Seconds,
    p95Seconds: events.completion.p95Seconds,
    maxSeconds: events.completion.maxSeconds,
    eventsDropped: dropped.events.lost,
    droppedRun: { requests: dropped.requests, finalStatuses: dropped.finalStatuses, lost: dropped.lost, duplicateJobs: dropped.duplicateJobs, describeJobsCalls: dropped.batchCalls.DescribeJobs ?? 0 },
  };
  if (process.env.BENCH_POLL_BASELINE !== '0') {
    console.log(`\nThroughput, UNTHROTTLED at the API, polling only (completion: 'poll', the figures before events): ${burst} run requests...`);
    const poll = throughput({ requests: burst, stackDir: pollOnlyStack(), apiThrottle: false });
    printBurst(poll);
    figures.pollOnly = {
      throughput: { requests: poll.requests, submitJobRatePercent: poll.submitJobRatePercent, lost: poll.lost, duplicateJobs: poll.duplicateJobs, batchCallsPerJob: poll.batchCallsPerJob, throttledCalls: poll.throttledCallsAbsorbed },
      completion: { p50Seconds: poll.completion.p50Seconds, p95Seconds: poll.completion.p95Seconds, maxSeconds: poll.completion.maxSeconds },
    };
  }
}

if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`\nfigures written to ${jsonFile}`);
}
process.exit(0);
