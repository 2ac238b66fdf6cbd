/**
 * The apply tier (`npm run test:apply`): the `dev` stack and a second environment beside it, in the
 * same emulated account and region, applied by the real terraform and hashicorp/aws provider
 * against moto_server (with the bridges of moto_launcher.py), re-planned with no change, checked
 * at run time where moto can serve the request, and destroyed by the README's teardown path.
 * Lambda and Batch need containers, which moto runs without here: nothing is invoked.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchClient, DescribeJobQueuesCommand } from '@aws-sdk/client-batch';
import { DescribeStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type BatchGatewayConfig, type EnvironmentConfig } from '../../app/config';
import defaultConfig from '../../batch-gateway.config';
import { synthesize } from '../../main';
import { terraformInit } from '../../scripts/lib/terraform';

/** Each run's stacks, state and providers: a fresh folder under the repository's ignored .tmp/, so runs never share one. */
const WORK_PARENT = path.resolve(__dirname, '..', '..', '.tmp', 'apply');
const REGION = defaultConfig.environments.dev.region;
/** The second environment: the dev configuration under another prefix, in the same account and region. */
const SECOND = 'apply2';
/** The moto services the stack calls; the keys of the provider's `endpoints` block. */
const ENDPOINT_SERVICES = ['apigateway', 'apigatewayv2', 'batch', 'cloudwatch', 'dynamodb', 'ec2', 'events', 'iam', 'kms', 'lambda', 'logs', 's3', 'sfn', 'sns', 'sqs', 'sts'];
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true' };

/** The environments applied: dev as configured, and SECOND; with `teardown`, the README's teardown settings. */
function applyConfig(teardown = false): BatchGatewayConfig {
  const dev = structuredClone(defaultConfig.environments.dev);
  // One account-level API Gateway logging setting per account and region: dev owns it.
  const second: EnvironmentConfig = { ...structuredClone(dev), namePrefix: `batch-gateway-${SECOND}`, manageApiGatewayAccount: false };
  const environments: Record<string, EnvironmentConfig> = { dev, [SECOND]: second };
  if (teardown) {
    for (const env of Object.values(environments)) {
      env.tableProps = { ...env.tableProps, deletionProtection: false };
      env.artifacts = { ...env.artifacts, forceDestroy: true };
    }
  }
  return { environments };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The provider override that points every service at moto (merged into cdk.tf.json's provider "aws"). */
function motoOverride(endpoint: string): object {
  return {
    provider: {
      aws: {
        access_key: 'test',
        secret_key: 'test',
        endpoints: [Object.fromEntries(ENDPOINT_SERVICES.map((s) => [s, endpoint]))],
        s3_use_path_style: true,
        skip_credentials_validation: true,
        skip_metadata_api_check: 'true',
        // moto answers what it lacks with HTTP 500: the default 25 retries wait minutes per call.
        max_retries: 3,
      },
    },
  };
}

interface Tf {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

class Environment {
  readonly dir: string;
  env!: NodeJS.ProcessEnv;
  readonly times: Record<string, number> = {};

  constructor(
    readonly name: string,
    workRoot: string,
  ) {
    this.dir = path.join(workRoot, name);
  }

  /** Copies the synthesized stack (cdk.tf.json and its assets) into this environment's own folder, next to its state. */
  takeSynth(outdir: string, endpoint: string): void {
    cpSync(path.join(outdir, 'stacks', this.name), this.dir, { recursive: true, force: true });
    writeFileSync(path.join(this.dir, 'moto_override.tf.json'), JSON.stringify(motoOverride(endpoint), null, 2));
  }

  init(): void {
    const base: NodeJS.ProcessEnv = { ...process.env, ...CREDENTIALS };
    delete base.AWS_PROFILE;
    this.env = terraformInit(this.dir, ['-input=false', '-no-color'], base).env;
  }

  tf(args: string[], label?: string): Tf {
    const started = performance.now();
    const flags = ['plan', 'apply', 'destroy'].includes(args[0]) ? ['-no-color', '-input=false'] : [];
    const r = spawnSync('terraform', [...args, ...flags], { cwd: this.dir, env: this.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const ms = Math.round(performance.now() - started);
    if (label) {
      this.times[label] = ms;
      writeFileSync(path.join(this.dir, `${label}.log`), `${r.stdout}\n${r.stderr}`);
    }
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms };
  }

  /** Runs terraform and fails the test with its output unless it exits with `expected`. */
  must(args: string[], label?: string, expected = 0): Tf {
    const r = this.tf(args, label);
    if (r.status !== expected) {
      throw new Error(`${this.name}: terraform ${args.join(' ')} exited ${r.status} (expected ${expected}):\n${tail(r.stderr || r.stdout)}\n${changes(r.stdout)}`);
    }
    return r;
  }

  stateList(): string[] {
    return this.must(['state', 'list']).stdout.split('\n').filter(Boolean);
  }

  /** The state's resources as `terraform show -json` gives them. */
  resources(): { address: string; type: string; values: Record<string, unknown> }[] {
    const show = JSON.parse(this.must(['show', '-json']).stdout);
    return show.values?.root_module?.resources ?? [];
  }

  output(name: string): string {
    return this.must(['output', '-raw', name]).stdout;
  }
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** The plan's `# address will be ...` lines: what a non-empty plan would change. */
function changes(planOutput: string): string {
  return planOutput
    .split('\n')
    .filter((l) => /^\s+# (?!data\.).* (will be (updated|destroyed)|must be replaced)/.test(l) || /^\s+[~-] .*(->|forces replacement)/.test(l))
    .join('\n');
}

/** An Authorization header moto accepts: it checks no signature, and routes by the credential scope's service and region. */
function sigv4Scope(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/** One call to moto's JSON protocol (it checks no signature; the credential scope names the region). */
async function awsJson(endpoint: string, target: string, service: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': target,
      Authorization: sigv4Scope(service),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${target}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

const times: Record<string, number> = {};
const time = <T>(label: string, fn: () => T): T => {
  const started = performance.now();
  try {
    return fn();
  } finally {
    times[label] = Math.round(performance.now() - started);
  }
};

describe('dev and a second environment applied against moto', () => {
  let moto: ChildProcess | undefined;
  let motoLog: string;
  let endpoint: string;
  let workRoot: string;
  let dev: Environment;
  let second: Environment;
  const both = () => [dev, second];

  beforeAll(async () => {
    const probe = spawnSync('python3', ['-c', 'import moto, flask'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`test:apply needs python3 with moto[server] (moto_server and Flask): ${probe.error?.message ?? probe.stderr.trim().split('\n').pop()} (pip install "moto[server]==5.2.1")`);
    }
    mkdirSync(WORK_PARENT, { recursive: true });
    workRoot = mkdtempSync(path.join(WORK_PARENT, 'run-'));
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    motoLog = path.join(workRoot, 'moto.log');
    const log = openSync(motoLog, 'w');
    // moto's output goes to a file: a pipe nobody drains while terraform runs would stop it.
    moto = spawn('python3', [path.join(__dirname, 'moto_launcher.py'), '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', log, log] });
    closeSync(log);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (moto.exitCode !== null) throw new Error(`moto_server exited ${moto.exitCode}:\n${readFileSync(motoLog, 'utf8')}`);
      try {
        if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${readFileSync(motoLog, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const outdir = path.join(workRoot, 'synth');
    time('synth', () => synthesize({ outdir, config: applyConfig() }));
    dev = new Environment('dev', workRoot);
    second = new Environment(SECOND, workRoot);
    for (const e of both()) {
      e.takeSynth(outdir, endpoint);
      e.init();
    }
  }, 120_000);

  afterAll(async () => {
    if (moto && moto.exitCode === null && moto.pid) {
      const pid = moto.pid;
      const exited = new Promise((r) => moto!.once('exit', r));
      process.kill(pid, 'SIGTERM');
      const stuck = setTimeout(() => process.kill(pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(stuck);
    }
    console.log(`apply tier timings (ms): ${JSON.stringify({ ...times, ...Object.fromEntries(both().flatMap((e) => Object.entries(e?.times ?? {}).map(([k, v]) => [`${e.name} ${k}`, v]))) })}`);
    if (workRoot && process.env.KEEP_APPLY_DIR !== '1') rmSync(workRoot, { recursive: true, force: true });
  });

  it('applies dev', () => {
    dev.must(['apply', '-auto-approve'], 'apply');
    const config = JSON.parse(readFileSync(path.join(dev.dir, 'cdk.tf.json'), 'utf8'));
    const configured = Object.values(config.resource as Record<string, object>).reduce((n, byId) => n + Object.keys(byId).length, 0);
    expect(dev.stateList().filter((a) => !a.startsWith('data.'))).toHaveLength(configured);
  });

  it('re-plans dev with no change (what the provider reads back is what was configured)', () => {
    dev.must(['plan', '-detailed-exitcode'], 'replan');
  });

  it('applies a second environment beside it, in the same account and region, and both re-plan with no change', () => {
    second.must(['apply', '-auto-approve'], 'apply');
    for (const e of both()) e.must(['plan', '-detailed-exitcode'], 'replan-both');
    expect(second.output('run_requests_table_name')).not.toBe(dev.output('run_requests_table_name'));
  });

  it('writes a run request once: the table refuses a second put of the same id (conditional write)', async () => {
    const db = new DynamoDBClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const tableName = dev.output('run_requests_table_name');
    const put = () =>
      db.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { runRequestID: { S: 'apply-tier-1' }, status: { S: 'ACCEPTED' } },
          ConditionExpression: 'attribute_not_exists(runRequestID)',
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('starts one execution per run request: the same name and input twice give one execution', async () => {
    const sfn = new SFNClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const stateMachineArn = dev.output('state_machine_arn');
    const start = () => sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'apply-tier-1', input: '{"runRequestID":"apply-tier-1"}' }));
    const first = await start();
    const again = await start();
    expect(again.executionArn).toBe(first.executionArn);
  });

  it('holds each state machine as applied: every function, queue and topic it names exists, and is its own environment\'s', async () => {
    const clientOptions = { endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const sfn = new SFNClient(clientOptions);
    const batch = new BatchClient(clientOptions);
    for (const e of both()) {
      const { definition } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: e.output('state_machine_arn') }));
      const arns = [...new Set(JSON.stringify(JSON.parse(definition!)).match(/arn:aws:(lambda|batch|sns):[^"]+/g) ?? [])];
      const functions = arns.filter((a) => a.startsWith('arn:aws:lambda:'));
      const queues = arns.filter((a) => a.startsWith('arn:aws:batch:'));
      const topics = arns.filter((a) => a.startsWith('arn:aws:sns:'));
      // record-status, submit-job, await-job, poll-job, notify and the barcode route's function.
      expect(functions).toHaveLength(6);
      expect(queues).toEqual([e.output('job_queue_arn')]);
      expect(topics).toEqual([e.output('failure_topic_arn')]);
      for (const arn of arns) expect(arn).toMatch(new RegExp(`[:/]batch-gateway-${e.name}-`));
      for (const fn of functions) expect((await fetch(`${endpoint}/2015-03-31/functions/${encodeURIComponent(fn)}`, { headers: { Authorization: sigv4Scope('lambda') } })).status).toBe(200);
      const { jobQueues } = await batch.send(new DescribeJobQueuesCommand({ jobQueues: queues }));
      expect(jobQueues?.map((q) => [q.jobQueueArn, q.state])).toEqual([[queues[0], 'ENABLED']]);
    }
  });

  it("routes each environment's Batch job state changes to its own rule only", async () => {
    const event = (jobQueue: string) => ({
      id: '7bf73129-1428-4cd3-a780-95db273d1602',
      'detail-type': 'Batch Job State Change',
      source: 'aws.batch',
      account: '123456789012',
      time: '2026-01-01T00:00:00Z',
      region: REGION,
      resources: [],
      detail: { jobQueue, status: 'SUCCEEDED', jobId: 'j-1', jobName: 'sample' },
    });
    const ruleOf = (e: Environment) => e.resources().find((r) => r.type === 'aws_cloudwatch_event_rule')!.values.name as string;
    for (const [own, other] of [
      [dev, second],
      [second, dev],
    ]) {
      const rule = await awsJson(endpoint, 'AWSEvents.DescribeRule', 'events', { Name: ruleOf(own) });
      const matches = async (queue: string) =>
        (await awsJson(endpoint, 'AWSEvents.TestEventPattern', 'events', { EventPattern: rule.EventPattern, Event: JSON.stringify(event(queue)) })).Result;
      expect(await matches(own.output('job_queue_arn'))).toBe(true);
      expect(await matches(other.output('job_queue_arn'))).toBe(false);
    }
  });

  it("is destroyed by the README's teardown path (no deletion protection, force-destroy bucket, apply, destroy), leaving nothing in state", () => {
    const outdir = path.join(workRoot, 'synth-teardown');
    synthesize({ outdir, config: applyConfig(true) });
    // The second environment first: dev owns the account-level setting the other stage relies on.
    for (const e of [second, dev]) {
      e.takeSynth(outdir, endpoint);
      e.must(['apply', '-auto-approve'], 'teardown-apply');
      e.must(['destroy', '-auto-approve'], 'destroy');
      expect(e.stateList()).toEqual([]);
    }
  });
});
