// Throughput and completion through local mode (part of `npm run bench`): a burst of run requests,
// the local Batch throttled like the real service (50 calls per second per account, every
// operation from one budget), and the REST stage throttled as deployed (its method settings:
// 50 requests/s, burst 100 by default) unless `apiThrottle: false`. Reports how many requests the
// stage answered 429, how fast the API accepts, how close SubmitJob gets to the
// limit, the Batch calls each job costs, how long after a job's end its status is recorded, and
// what was lost or submitted twice (both must be zero).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const percentile = (values, p) => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** The run-requests table of a synthesized stack: the one keyed by runRequestID. */
function runRequestsTable(stackDir) {
  const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  const table = Object.values(config.resource.aws_dynamodb_table).find((t) => t.hash_key === 'runRequestID');
  return table.name;
}

/** The burst's clients, on a worker thread: `requests` POSTs, `concurrency` at a time. */
const POSTER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, requests, concurrency } = workerData;
const ids = [];
const rejections = {};
let rejected = 0;
let throttled = 0;
let next = 0;
Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = next++;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processname: 'sample', clientname: 'bench', parameters: { message: 'job ' + i } }),
      });
      const body = await response.json();
      if (response.status === 202) ids.push(body.runRequestID);
      else if (response.status === 429) throttled++;
      else {
        rejected++;
        const key = response.status + ' ' + (body.message ?? '');
        rejections[key] = (rejections[key] ?? 0) + 1;
      }
    }
  }),
).then(() => parentPort.postMessage({ ids, rejected, throttled, rejections }));
`;

function postBurst(workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(POSTER, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/**
 * `requests` run requests, `concurrency` at a time, through local mode of `stackDir` (the
 * repository's dev stack by default). `waitScale` scales the state machine's waits (1: as
 * deployed); `eventFaults` makes the local EventBridge lose, repeat or delay events; `apiThrottle:
 * false` lets every request past the stage's throttle (local mode's own limit is then the bound).
 */
export async function throughput({ requests = 2000, throttle = 50, concurrency = 64, stackDir, waitScale = 1, eventFaults, statusDelayMs = 50, apiThrottle = true } = {}) {
  const { startLocalMode } = require(path.join(root, 'dist', 'app', 'local', 'index.js'));
  const { silentLog } = require(path.join(root, 'dist', 'app', 'local', 'types.js'));
  const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
  const { unmarshall } = require('@aws-sdk/util-dynamodb');
  stackDir ??= path.join(root, 'cdktf.out', 'stacks', 'dev');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-throughput-'));
  const local = await startLocalMode({
    root,
    dataDir,
    stackDir,
    port: 0,
    waitScale,
    apiThrottle,
    batchStatusDelayMs: statusDelayMs,
    batchThrottlePerSecond: throttle,
    eventFaults,
    lambdaLogLevel: 'CRITICAL',
    log: silentLog,
  });
  const { batch, events } = local.services;
  const ddb = new DynamoDBClient({ endpoint: local.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const started = performance.now();
    let firstSubmitAt;
    let allSubmittedAt;
    let accepted;
    const sampler = setInterval(() => {
      const submitted = batch.calls.SubmitJob ?? 0;
      if (submitted > 0 && firstSubmitAt === undefined) firstSubmitAt = performance.now();
      // Every accepted request's job submitted (the burst's acceptance is over once `accepted` is set).
      if (accepted !== undefined && submitted >= accepted && allSubmittedAt === undefined) allSubmittedAt = performance.now();
    }, 100);

    // The clients post from a thread of their own: their work is not local mode's.
    const { ids, rejected, throttled, rejections } = await postBurst({ url: local.runRequestsUrl, requests, concurrency });
    const acceptedAt = performance.now();
    accepted = ids.length;
    await Promise.race([local.idle(), new Promise((_, reject) => setTimeout(() => reject(new Error('the burst did not finish in 20 minutes')), 20 * 60_000))]);
    const doneAt = performance.now();
    clearInterval(sampler);

    // Each request's outcome, and how long after its job's end (Batch's stoppedAt) the end was recorded.
    const TableName = runRequestsTable(stackDir);
    const jobs = new Map(batch.jobs().map((job) => [job.jobId, job]));
    const statuses = {};
    const completionSeconds = [];
    for (const id of ids) {
      const { Item } = await ddb.send(new GetItemCommand({ TableName, Key: { runRequestID: { S: id } }, ConsistentRead: true }));
      const item = Item ? unmarshall(Item) : {};
      statuses[item.status] = (statuses[item.status] ?? 0) + 1;
      const job = jobs.get(item.jobId);
      const recorded = item.statusHistory?.find((h) => h.status === item.status);
      if (job?.stoppedAt && recorded && (item.status === 'SUCCEEDED' || item.status === 'FAILED')) completionSeconds.push((Date.parse(recorded.at) - job.stoppedAt) / 1000);
    }
    const byName = new Map();
    for (const job of jobs.values()) byName.set(job.jobName, (byName.get(job.jobName) ?? 0) + 1);
    const submitSeconds = ((allSubmittedAt ?? doneAt) - (firstSubmitAt ?? started)) / 1000;
    const submitRate = (batch.calls.SubmitJob ?? 0) / submitSeconds;
    const batchCalls = Object.values(batch.calls).reduce((a, b) => a + b, 0);
    return {
      requests,
      accepted: ids.length,
      rejectedAtApi: rejected,
      rejections,
      // 429 from the stage's throttle, and the limits it applied (null: switched off).
      throttledAtApi: throttled,
      apiThrottle: local.apiThrottle?.['POST /runrequests'] ?? null,
      burstSeconds: (acceptedAt - started) / 1000,
      acceptedPerSecond: ids.length / ((acceptedAt - started) / 1000),
      secondsUntilAllSubmitted: ((allSubmittedAt ?? doneAt) - started) / 1000,
      submitJobCalls: batch.calls.SubmitJob ?? 0,
      submitJobPerSecond: submitRate,
      submitJobRatePercent: (100 * submitRate) / throttle,
      batchCalls: { ...batch.calls },
      batchCallsPerJob: batchCalls / Math.max(1, jobs.size),
      batchCallsPerSecondWhileDone: batchCalls / ((doneAt - (firstSubmitAt ?? started)) / 1000),
      throttleLimit: throttle,
      throttledCallsAbsorbed: batch.throttledCalls,
      secondsUntilAllFinished: (doneAt - started) / 1000,
      finalStatuses: statuses,
      lost: ids.length - (statuses.SUCCEEDED ?? 0),
      duplicateJobs: [...byName.values()].reduce((sum, n) => sum + n - 1, 0),
      events: { ...events.counts },
      completion: { jobs: completionSeconds.length, p50Seconds: percentile(completionSeconds, 50), p95Seconds: percentile(completionSeconds, 95), maxSeconds: percentile(completionSeconds, 100) },
    };
  } finally {
    ddb.destroy();
    await local.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * One burst in a process of its own: the bundles' SDK clients are made once per process, with the
 * endpoints of the first local mode they run against, so two bursts never share a process. With
 * the young generation `npm run local` gives local mode (32 MB semi-spaces instead of Node's 16:
 * a burst allocates fast, and the smaller one spent a tenth of the event loop collecting).
 */
export function throughputInChildProcess(options) {
  const out = execFileSync(process.execPath, ['--max-semi-space-size=32', fileURLToPath(import.meta.url), JSON.stringify(options)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(out);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `node scripts/bench-throughput.mjs ['{"requests": 2000, "throttle": 50, ...}']`: prints the figures as JSON.
  const options = process.argv[2] ? JSON.parse(process.argv[2]) : { requests: Number(process.env.BENCH_THROUGHPUT_REQUESTS ?? 2000), throttle: Number(process.env.BENCH_THROUGHPUT_THROTTLE ?? 50) };
  const result = await throughput(options);
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
