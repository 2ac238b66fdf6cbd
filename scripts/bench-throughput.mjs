// Throughput simulation (part of `npm run bench`): a burst of run requests through local mode,
// with the local Batch throttled like the real service (50 calls per second per account, shared
// by SubmitJob and DescribeJobs). Reports how fast the API accepts, how fast jobs get submitted,
// how much throttling the retries absorbed, and how many requests were lost (must be zero).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export async function throughput({ requests = 2000, throttle = 50, concurrency = 64 } = {}) {
  const { startLocalMode } = require(path.join(root, 'dist', 'app', 'local', 'index.js'));
  const { silentLog } = require(path.join(root, 'dist', 'app', 'local', 'types.js'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-throughput-'));
  const local = await startLocalMode({
    root,
    dataDir,
    port: 0,
    // The polling schedule as deployed (first poll after 30 s): DescribeJobs shares the 50 calls per second with SubmitJob.
    waitScale: Number(process.env.BENCH_THROUGHPUT_WAIT_SCALE ?? 1),
    batchStatusDelayMs: 50,
    batchThrottlePerSecond: throttle,
    lambdaLogLevel: 'CRITICAL',
    log: silentLog,
  });
  const batch = local.services.batch;
  try {
    const started = performance.now();
    let firstSubmitAt;
    let allSubmittedAt;
    const sampler = setInterval(() => {
      const submitted = batch.calls.SubmitJob ?? 0;
      if (submitted > 0 && firstSubmitAt === undefined) firstSubmitAt = performance.now();
      if (submitted >= requests && allSubmittedAt === undefined) allSubmittedAt = performance.now();
    }, 100);

    const ids = [];
    let rejected = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          const i = next++;
          const response = await fetch(local.runRequestsUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ processname: 'sample', clientname: 'bench', parameters: { message: `job ${i}` } }),
          });
          const body = await response.json();
          if (response.status === 202) ids.push(body.runRequestID);
          else rejected++;
        }
      }),
    );
    const acceptedAt = performance.now();
    await Promise.race([local.idle(), new Promise((_, reject) => setTimeout(() => reject(new Error('the burst did not finish in 15 minutes')), 15 * 60_000))]);
    const doneAt = performance.now();
    clearInterval(sampler);

    const statuses = {};
    for (const id of ids) {
      const item = await (await fetch(`${local.runRequestsUrl}/${id}`)).json();
      statuses[item.status] = (statuses[item.status] ?? 0) + 1;
    }
    const submitSeconds = ((allSubmittedAt ?? doneAt) - (firstSubmitAt ?? started)) / 1000;
    const submitRate = (batch.calls.SubmitJob ?? 0) / submitSeconds;
    const batchCalls = Object.values(batch.calls).reduce((a, b) => a + b, 0);
    return {
      requests,
      accepted: ids.length,
      rejectedAtApi: rejected,
      acceptedPerSecond: ids.length / ((acceptedAt - started) / 1000),
      secondsUntilAllSubmitted: ((allSubmittedAt ?? doneAt) - started) / 1000,
      submitJobCalls: batch.calls.SubmitJob ?? 0,
      submitJobPerSecond: submitRate,
      batchCallsPerSecondWhileDone: batchCalls / ((doneAt - (firstSubmitAt ?? started)) / 1000),
      throttleLimit: throttle,
      throttledCallsAbsorbed: batch.throttledCalls,
      secondsUntilAllFinished: (doneAt - started) / 1000,
      finalStatuses: statuses,
      lost: ids.length - (statuses.SUCCEEDED ?? 0),
    };
  } finally {
    await local.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const requests = Number(process.env.BENCH_THROUGHPUT_REQUESTS ?? 2000);
  const throttle = Number(process.env.BENCH_THROUGHPUT_THROTTLE ?? 50);
  const result = await throughput({ requests, throttle });
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
