/**
 * Local Batch through the real SDK client: jobs run as local processes and move through Batch's
 * statuses; the API throttles like Batch's; jobs survive a restart.
 */
import { BatchClient, BatchClientConfig, DescribeJobsCommand, JobDetail, ListJobsCommand, SubmitJobCommand, SubmitJobCommandInput, TerminateJobCommand } from '@aws-sdk/client-batch';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBatch, LocalBatchOptions, LocalJobDefinition, LocalJobRecord, RESTARTED_REASON, startLocalBatch } from '../../local/batch';
import { JobLauncher } from '../../local/job-launcher';
import { readJsonLines } from '../../local/jsonl';
import { isAlive } from './pids';
import { LocalLog } from '../../local/types';

const QUEUE = 'batch-gateway-queue';
const QUEUE_ARN = `arn:aws:batch:us-east-1:000000000000:job-queue/${QUEUE}`;

const DEFINITIONS: Record<string, LocalJobDefinition> = {
  exit: { command: ['node', '-e', 'process.exit(Number(process.argv[1]))', 'Ref::code'], environment: {}, parameters: { code: '0' } },
  env: {
    command: ['node', '-e', 'console.log(JSON.stringify(process.env))'],
    environment: { GREETING: 'from the definition', KEPT: 'kept' },
    parameters: {},
  },
  // Prints its pid, then waits a minute (unless stopped).
  sleep: { command: ['node', '-e', 'console.log(process.pid); setTimeout(() => undefined, 60000)'], environment: {}, parameters: {} },
  'sleep-1s-timeout': { command: ['node', '-e', 'setTimeout(() => undefined, 60000)'], environment: {}, parameters: {}, timeoutSeconds: 1 },
  missing: { command: ['batch-gateway-no-such-executable'], environment: {}, parameters: {} },
  // What a definition that relies on its image's entrypoint looks like to local mode.
  'no-command': { command: [], environment: {}, parameters: {} },
};

interface LogLine {
  event: string;
  fields: Record<string, unknown>;
}

const dirs: string[] = [];
const services: LocalBatch[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'local-batch-'));
  dirs.push(dir);
  return dir;
}

async function start(options: Partial<LocalBatchOptions> = {}): Promise<{ batch: LocalBatch; lines: LogLine[]; dataDir: string }> {
  const lines: LogLine[] = [];
  const log: LocalLog = (event, fields = {}) => void lines.push({ event, fields });
  const dataDir = options.dataDir ?? tempDir();
  const batch = await startLocalBatch({ dataDir, jobDefinitions: DEFINITIONS, statusDelayMs: 50, log, ...options });
  services.push(batch);
  return { batch, lines, dataDir };
}

function client(batch: LocalBatch, config: Partial<BatchClientConfig> = {}): BatchClient {
  return new BatchClient({ endpoint: batch.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, ...config });
}

async function submit(sdk: BatchClient, input: Partial<SubmitJobCommandInput> & { jobDefinition: string }): Promise<string> {
  const out = await sdk.send(new SubmitJobCommand({ jobName: 'job-1', jobQueue: QUEUE, ...input }));
  return out.jobId!;
}

async function describeJob(sdk: BatchClient, jobId: string): Promise<JobDetail> {
  const out = await sdk.send(new DescribeJobsCommand({ jobs: [jobId] }));
  expect(out.jobs).toHaveLength(1);
  return out.jobs![0];
}

async function waitForStatus(sdk: BatchClient, jobId: string, status: string): Promise<JobDetail> {
  for (let i = 0; i < 200; i++) {
    const job = await describeJob(sdk, jobId);
    if (job.status === status) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} never reached ${status}`);
}

const statusesOf = (lines: LogLine[], jobId: string) => lines.filter((l) => l.event === 'job status changed' && l.fields.jobId === jobId).map((l) => l.fields.status);

/** Resolves once `condition` holds (checked every 10 ms, for up to 5 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('the condition never held');
}

/** The `sleep` job's pid, once it has printed it to its log. */
async function pidOf(batch: LocalBatch, jobId: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const file = batch.job(jobId)!.logFile;
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    if (text) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} printed no pid`);
}

/** Processes a test started outside local Batch, stopped after it. */
const strangers: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  strangers.splice(0).forEach((p) => p.kill('SIGKILL'));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a job', () => {
  it('goes SUBMITTED, RUNNABLE, STARTING, RUNNING to SUCCEEDED with exit code 0', async () => {
    // Prepare
    const { batch, lines } = await start();
    const sdk = client(batch);

    // Act
    const out = await sdk.send(new SubmitJobCommand({ jobName: 'job-ok', jobQueue: QUEUE, jobDefinition: 'exit', parameters: { code: '0' }, tags: { route: 'r1' } }));
    const first = await describeJob(sdk, out.jobId!);
    await batch.idle();
    const job = await describeJob(sdk, out.jobId!);

    // Assess
    expect(out.jobArn).toBe(`arn:aws:batch:us-east-1:000000000000:job/${out.jobId}`);
    expect(out.jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first.status).toBe('SUBMITTED');
    expect(statusesOf(lines, out.jobId!)).toEqual(['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(job).toMatchObject({
      jobId: out.jobId,
      jobName: 'job-ok',
      jobArn: out.jobArn,
      jobQueue: QUEUE_ARN,
      jobDefinition: 'arn:aws:batch:us-east-1:000000000000:job-definition/exit:1',
      status: 'SUCCEEDED',
      parameters: { code: '0' },
      tags: { route: 'r1' },
      container: { exitCode: 0 },
    });
    expect(job.statusReason).toBeUndefined();
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts![0].container?.exitCode).toBe(0);
    expect(job.createdAt!).toBeLessThanOrEqual(job.startedAt!);
    expect(job.startedAt!).toBeLessThanOrEqual(job.stoppedAt!);
    expect(job.attempts![0]).toMatchObject({ startedAt: job.startedAt, stoppedAt: job.stoppedAt });
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(['job submitted', 'job exited']));
  });

  it('FAILS with the exit code and Batch reason when the process exits non-zero', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const jobId = await submit(sdk, { jobDefinition: 'exit', parameters: { code: '3' } });
    await batch.idle();
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job.status).toBe('FAILED');
    expect(job.statusReason).toBe('Essential container in task exited');
    expect(job.container?.exitCode).toBe(3);
    expect(job.attempts![0].container?.exitCode).toBe(3);
    expect(batch.job(jobId)?.command).toEqual(['node', '-e', 'process.exit(Number(process.argv[1]))', '3']);
  });

  it('resolves the job definition by name:revision and by ARN', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const byRevision = await submit(sdk, { jobDefinition: 'exit:7' });
    const byArn = await submit(sdk, { jobDefinition: 'arn:aws:batch:eu-west-1:123456789012:job-definition/exit:2' });
    await batch.idle();

    // Assess
    expect((await describeJob(sdk, byRevision)).jobDefinition).toBe('arn:aws:batch:us-east-1:000000000000:job-definition/exit:7');
    expect((await describeJob(sdk, byArn)).status).toBe('SUCCEEDED');
  });

  it('is refused with a ClientException when its job definition is unknown', async () => {
    // Prepare
    const { batch } = await start();

    // Act
    const result = submit(client(batch), { jobDefinition: 'nope:1' });

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'ClientException', $metadata: { httpStatusCode: 400 }, message: expect.stringContaining('nope:1') });
  });

  it("gets the definition's environment overridden by containerOverrides, and AWS_BATCH_JOB_ID", async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const jobId = await submit(sdk, {
      jobDefinition: 'env',
      containerOverrides: { environment: [{ name: 'GREETING', value: 'from the request' }, { name: 'ARTIFACTS_PREFIX', value: 'run-1/' }] },
    });
    await batch.idle();
    const record = batch.job(jobId)!;
    const env = JSON.parse(readFileSync(record.logFile, 'utf8')) as Record<string, string>;

    // Assess
    expect(record.logFile).toBe(path.join(path.dirname(record.logFile), `${jobId}.log`));
    expect(env).toMatchObject({ GREETING: 'from the request', KEPT: 'kept', ARTIFACTS_PREFIX: 'run-1/', AWS_BATCH_JOB_ID: jobId, AWS_BATCH_JQ_NAME: QUEUE });
    expect(env.PATH).toBe(process.env.PATH);
    expect((await describeJob(sdk, jobId)).container?.environment).toEqual(expect.arrayContaining([{ name: 'GREETING', value: 'from the request' }]));
  });

  it('is killed and FAILED when it runs past its timeout', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const jobId = await submit(sdk, { jobDefinition: 'sleep-1s-timeout' });
    await batch.idle();
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job.status).toBe('FAILED');
    expect(job.statusReason).toBe('Job attempt duration exceeded timeout');
    expect(job.container?.exitCode).toBe(143); // 128 + SIGTERM
    expect(job.stoppedAt! - job.startedAt!).toBeGreaterThanOrEqual(1000);
    expect(job.stoppedAt! - job.startedAt!).toBeLessThan(10_000);
  });

  it('FAILS with a clear reason when its executable does not exist', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const jobId = await submit(sdk, { jobDefinition: 'missing' });
    await batch.idle();
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job.status).toBe('FAILED');
    expect(job.statusReason).toBe('Task failed to start');
    expect(job.container?.reason).toBe('CannotStartContainerError: cannot run "batch-gateway-no-such-executable": executable file not found');
    expect(job.startedAt).toBeUndefined();
  });

  it('FAILS to start when its definition has no command (local mode has no image to run)', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);

    // Act
    const jobId = await submit(sdk, { jobDefinition: 'no-command' });
    await batch.idle();
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job).toMatchObject({ status: 'FAILED', statusReason: 'Task failed to start' });
    expect(job.container?.reason).toMatch(/^CannotStartContainerError: the job definition has no command/);
  });
});

describe('TerminateJob', () => {
  it('kills a RUNNING job, which FAILS with the given reason', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);
    const jobId = await submit(sdk, { jobDefinition: 'sleep' });
    await waitForStatus(sdk, jobId, 'RUNNING');
    const pid = await pidOf(batch, jobId);

    // Act
    await sdk.send(new TerminateJobCommand({ jobId, reason: 'batch-gateway: timed out' }));
    await batch.idle();
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job.status).toBe('FAILED');
    expect(job.statusReason).toBe('batch-gateway: timed out');
    expect(job.attempts).toHaveLength(1);
    expect(isAlive(pid)).toBe(false);
  });

  it('FAILS a job at once when it has not started', async () => {
    // Prepare
    const { batch } = await start({ statusDelayMs: 1000 });
    const sdk = client(batch);
    const jobId = await submit(sdk, { jobDefinition: 'sleep' });

    // Act
    await sdk.send(new TerminateJobCommand({ jobId, reason: 'duplicate' }));
    const job = await describeJob(sdk, jobId);

    // Assess
    expect(job).toMatchObject({ status: 'FAILED', statusReason: 'duplicate', attempts: [] });
    expect(existsSync(batch.job(jobId)!.logFile)).toBe(false);
  });

  it('stops a job whose process was asked for but has not reported its start yet, once it starts, and never reports it RUNNING', async () => {
    // Prepare: the launcher's report of the start held back until the TerminateJob is in.
    const run = JobLauncher.prototype.run;
    let release: (() => void) | undefined;
    const asked = new Promise<void>((resolve) => {
      jest.spyOn(JobLauncher.prototype, 'run').mockImplementation(function (this: JobLauncher, spec) {
        const launched = run.call(this, spec);
        const emit = launched.emit.bind(launched);
        launched.emit = (event: string | symbol, ...args: unknown[]) => {
          if (event !== 'spawn') return emit(event, ...args);
          release = () => emit(event, ...args);
          return true;
        };
        resolve();
        return launched;
      });
    });
    const { batch, lines } = await start();
    const sdk = client(batch);
    const jobId = await submit(sdk, { jobDefinition: 'sleep' });
    await asked;

    // Act
    await sdk.send(new TerminateJobCommand({ jobId, reason: 'cancelled while starting' }));
    const beforeStart = batch.job(jobId)!.status;
    await waitFor(() => release !== undefined);
    release!();
    await batch.idle();

    // Assess
    expect(beforeStart).toBe('STARTING');
    expect(await describeJob(sdk, jobId)).toMatchObject({ status: 'FAILED', statusReason: 'cancelled while starting' });
    expect(statusesOf(lines, jobId)).not.toContain('RUNNING');
    expect(isAlive(batch.job(jobId)!.pid!)).toBe(false);
    jest.restoreAllMocks();
  });
});

describe('ListJobs', () => {
  it('finds the jobs of a name on a queue, whatever their status', async () => {
    // Prepare
    const { batch } = await start();
    const sdk = client(batch);
    const wanted = await submit(sdk, { jobName: 'route-a-req-1', jobDefinition: 'exit' });
    await submit(sdk, { jobName: 'route-a-req-2', jobDefinition: 'exit' });
    await submit(sdk, { jobName: 'route-a-req-1', jobQueue: 'other-queue', jobDefinition: 'exit' });
    await batch.idle();

    // Act
    const out = await sdk.send(new ListJobsCommand({ jobQueue: QUEUE_ARN, filters: [{ name: 'JOB_NAME', values: ['route-a-req-1'] }] }));

    // Assess
    expect(out.jobSummaryList).toEqual([expect.objectContaining({ jobId: wanted, jobName: 'route-a-req-1', status: 'SUCCEEDED', createdAt: expect.any(Number) })]);
    expect(batch.calls).toMatchObject({ SubmitJob: 3, ListJobs: 1 });
  });
});

describe('DescribeJobs', () => {
  it('leaves out a job id it does not know', async () => {
    // Prepare
    const { batch } = await start();

    // Act
    const out = await client(batch).send(new DescribeJobsCommand({ jobs: ['00000000-0000-0000-0000-000000000000'] }));

    // Assess
    expect(out.jobs).toEqual([]);
  });
});

describe('throttling', () => {
  const burst = (sdk: BatchClient) => Promise.allSettled(Array.from({ length: 20 }, () => sdk.send(new DescribeJobsCommand({ jobs: ['x'] }))));
  const rejectedOf = (results: PromiseSettledResult<unknown>[]) =>
    results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as { name: string; $metadata: { httpStatusCode?: number; attempts?: number } });

  it('answers calls over the rate with 429 TooManyRequestsException', async () => {
    // Prepare
    const { batch } = await start({ throttlePerSecond: 5 });
    const sdk = client(batch, { maxAttempts: 1 });

    // Act
    const results = await burst(sdk);

    // Assess
    const rejected = rejectedOf(results);
    // The bucket holds 5 tokens; one more may have refilled while the burst was on its way.
    expect(rejected.length).toBeGreaterThanOrEqual(14);
    expect(rejected.length).toBeLessThanOrEqual(15);
    for (const err of rejected) expect(err).toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    expect(batch.throttledCalls).toBe(rejected.length);
    expect(batch.calls.DescribeJobs).toBe(20 - rejected.length);
  });

  it("is retried by the SDK's default strategy, which gives up after 3 attempts", async () => {
    // Prepare
    const { batch } = await start({ throttlePerSecond: 5 });
    const sdk = client(batch);

    // Act
    const results = await burst(sdk);

    // Assess: more than the bucket's 5 succeed, so throttled calls were retried; the rest
    // (at 5 per second, 3 attempts within about 3 s cannot absorb 20) surface after 3 attempts.
    const rejected = rejectedOf(results);
    expect(20 - rejected.length).toBeGreaterThan(5);
    for (const err of rejected) expect(err).toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429, attempts: 3 } });
    expect(batch.throttledCalls).toBeGreaterThanOrEqual(15);
  });

  it('lets every call of the burst through in the end with enough SDK attempts', async () => {
    // Prepare
    const { batch } = await start({ throttlePerSecond: 5 });
    const sdk = client(batch, { maxAttempts: 8 });

    // Act
    const results = await burst(sdk);

    // Assess
    expect(rejectedOf(results)).toEqual([]);
    expect(batch.throttledCalls).toBeGreaterThanOrEqual(15);
  });
});

describe('persistence', () => {
  const journalOf = (dataDir: string) => readJsonLines<LocalJobRecord>(path.join(dataDir, 'batch', 'jobs.jsonl'));

  it('has a job in its journal before SubmitJob answers', async () => {
    // Prepare
    const { batch, dataDir } = await start({ statusDelayMs: 60_000 });

    // Act
    const jobId = await submit(client(batch), { jobName: 'journaled', jobDefinition: 'exit' });

    // Assess
    expect(journalOf(dataDir)).toEqual([expect.objectContaining({ jobId, jobName: 'journaled', status: 'SUBMITTED' })]);
  });

  it('keeps finished jobs across a restart and fails the ones that were running, saying why', async () => {
    // Prepare
    const first = await start();
    const sdk1 = client(first.batch);
    const done = await submit(sdk1, { jobName: 'done', jobDefinition: 'exit', parameters: { code: '0' } });
    await first.batch.idle();
    const running = await submit(sdk1, { jobName: 'running', jobDefinition: 'sleep' });
    await waitForStatus(sdk1, running, 'RUNNING');
    const pid = await pidOf(first.batch, running);

    // Act
    await first.batch.close();
    const second = await start({ dataDir: first.dataDir });
    const sdk2 = client(second.batch);

    // Assess
    expect(isAlive(pid)).toBe(false);
    expect(await describeJob(sdk2, done)).toMatchObject({ status: 'SUCCEEDED', jobName: 'done', container: { exitCode: 0 } });
    expect(await describeJob(sdk2, running)).toMatchObject({ status: 'FAILED', statusReason: RESTARTED_REASON, jobName: 'running', stoppedAt: expect.any(Number) });
    const listed = await sdk2.send(new ListJobsCommand({ jobQueue: QUEUE, filters: [{ name: 'JOB_NAME', values: ['done'] }] }));
    expect(listed.jobSummaryList?.map((j) => j.jobId)).toEqual([done]);
    expect(journalOf(first.dataDir).map((j) => j.jobName).sort()).toEqual(['done', 'running']);
  });

  it('goes on with a job that had not started, as a queued Batch job would', async () => {
    // Prepare
    const first = await start({ statusDelayMs: 60_000 });
    const queued = await submit(client(first.batch), { jobName: 'queued', jobDefinition: 'exit', parameters: { code: '0' } });
    await first.batch.close();

    // Act
    const second = await start({ dataDir: first.dataDir });
    await second.batch.idle();

    // Assess
    const job = await describeJob(client(second.batch), queued);
    expect(job).toMatchObject({ status: 'SUCCEEDED', container: { exitCode: 0 } });
    expect(job.attempts).toHaveLength(1);
    expect(statusesOf(second.lines, queued)).toEqual(['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  });

  it('fails a job whose process was asked for before a crash but never reported, rather than run it twice', async () => {
    // Prepare: the journal as a crash leaves it between asking for the process and hearing its pid.
    const first = await start();
    const sdk = client(first.batch);
    const jobId = await submit(sdk, { jobName: 'asked', jobDefinition: 'exit', parameters: { code: '0' } });
    await first.batch.idle();
    const asked = journalOf(first.dataDir).find((j) => j.jobId === jobId && j.launched === true && j.pid === undefined);
    expect(asked).toMatchObject({ status: 'STARTING' });
    await first.batch.close();
    writeFileSync(path.join(first.dataDir, 'batch', 'jobs.jsonl'), `${JSON.stringify(asked)}\n`);

    // Act
    const second = await start({ dataDir: first.dataDir });
    await second.batch.idle();

    // Assess
    expect(await describeJob(client(second.batch), jobId)).toMatchObject({ status: 'FAILED', statusReason: RESTARTED_REASON });
    expect(statusesOf(second.lines, jobId)).toEqual([]);
    expect(second.lines.find((l) => l.event === 'batch started')?.fields).toMatchObject({ requeued: 0, failedByRestart: 1 });
  });

  it('stops the process a crash left running, and only a process of that job', async () => {
    // Prepare: two jobs RUNNING in the journal, as a crash leaves them; one pid is still the
    // job's process, the other has since been given to an unrelated process.
    const first = await start();
    const sdk = client(first.batch);
    const orphaned = await submit(sdk, { jobName: 'orphaned', jobDefinition: 'sleep' });
    const reused = await submit(sdk, { jobName: 'reused', jobDefinition: 'sleep' });
    await waitForStatus(sdk, orphaned, 'RUNNING');
    await waitForStatus(sdk, reused, 'RUNNING');
    const asCrashed = journalOf(first.dataDir).filter((j) => j.status === 'RUNNING');
    await first.batch.close();
    const wait = ['-e', 'setTimeout(() => undefined, 60000)'];
    const orphan = spawn(process.execPath, wait, { detached: true, stdio: 'ignore', env: { AWS_BATCH_JOB_ID: orphaned } });
    strangers.push(orphan);
    const stranger = spawn(process.execPath, wait, { detached: true, stdio: 'ignore', env: {} });
    strangers.push(stranger);
    const pids: Record<string, number> = { [orphaned]: orphan.pid!, [reused]: stranger.pid! };
    writeFileSync(path.join(first.dataDir, 'batch', 'jobs.jsonl'), asCrashed.map((j) => `${JSON.stringify({ ...j, pid: pids[j.jobId] })}\n`).join(''));

    // Act
    const second = await start({ dataDir: first.dataDir });
    const exited = await Promise.race([
      new Promise((resolve) => orphan.once('exit', (_code, signal) => resolve(signal))),
      new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5000)),
    ]);

    // Assess
    expect(exited).toBe('SIGKILL');
    expect(isAlive(stranger.pid!)).toBe(true);
    const sdk2 = client(second.batch);
    expect(await describeJob(sdk2, orphaned)).toMatchObject({ status: 'FAILED', statusReason: RESTARTED_REASON });
    expect(await describeJob(sdk2, reused)).toMatchObject({ status: 'FAILED', statusReason: RESTARTED_REASON });
    expect(second.lines.find((l) => l.event === 'batch started')?.fields).toMatchObject({ failedByRestart: 2, orphansStopped: 1 });
  });
});
