/**
 * End to end, in local mode: the default stack synthesized, its pipeline started from those
 * artifacts on free ports, driven only through its HTTP and WebSocket interfaces.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { PNG } from 'pngjs';
import WebSocket from 'ws';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let local: LocalProcess;

beforeAll(async () => {
  // The sample route's deadline short enough for a stuck job to time out during the test.
  local = await startLocalProcess('e2e', (dev) => Object.assign(dev.routes.sample, { maxRunTimeSeconds: 10 }), ['--wait-scale', '0.01', '--batch-status-delay-ms', '20']);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

async function post(body: unknown, contentType = 'application/json'): Promise<{ status: number; body: Json }> {
  const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Json };
}

async function get(id: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${local.runRequestsUrl}/${encodeURIComponent(id)}`);
  return { status: response.status, body: (await response.json()) as Json };
}

/** Polls the API until the request reaches a terminal status. */
async function finalStatus(id: string, timeoutMs = 30_000): Promise<Json> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const { body } = await get(id);
    if (['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT'].includes(body.status)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run request ${id} did not finish in ${timeoutMs} ms`);
}

/**
 * POSTs `body` to the run-requests URL with Node's http client, through `agent` (false: a
 * connection of its own, which the client asks to close); the status and body it read, or the
 * error it met before any answer.
 */
function postWithNodeHttp(body: Buffer, agent: http.Agent | false): Promise<string> {
  return new Promise((resolve) => {
    const request = http.request(local.runRequestsUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } });
    let answered = false;
    request.once('response', (response) => {
      answered = true;
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('end', () => resolve(`${response.statusCode} ${text}`)).once('error', (error: NodeJS.ErrnoException) => resolve(`${error.code} while reading the answer`));
    });
    const failed = (error: NodeJS.ErrnoException) => answered || resolve(`no answer: ${error.code}`);
    // The client may still be sending when the answer comes: what its socket meets after that loses no answer
    // (the socket's own listener: Node's client stops listening to it once the response is in).
    request.on('error', failed).once('socket', (socket) => socket.on('error', failed));
    request.end(body);
  });
}

/**
 * POSTs `body` as a client that reads nothing until it has sent it all (Python's http.client, many
 * scripts), asking to close the connection: the status line and body it then read, or the error it met.
 */
function postReadingOnlyAfterSending(body: Buffer): Promise<string> {
  const url = new URL(local.runRequestsUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname).pause();
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('end', () => resolve(`${text.split(' ')[1]} ${text.slice(text.indexOf('\r\n\r\n') + 4)}`));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`no answer: ${error.code}`));
    socket.write(`POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    socket.write(body, () => socket.resume());
  });
}

function connect(clientId: string): Promise<{ socket: WebSocket; messages: Json[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${local.websocketUrl}?clientId=${clientId}`);
    const messages: Json[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('error', reject);
  });
}

describe('local mode, end to end', () => {
  it('runs a valid request to SUCCEEDED and tells its client exactly once', async () => {
    const { socket, messages } = await connect('e2e-success');

    const accepted = await post({ processname: 'sample', clientname: 'e2e', clientId: 'e2e-success', parameters: { message: 'hi' } });
    const final = await finalStatus(accepted.body.runRequestID);
    await local.idle();

    expect(accepted).toEqual({ status: 202, body: { runRequestID: expect.any(String), status: 'ACCEPTED' } });
    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, jobId: expect.any(String) });
    expect(messages).toEqual([{ runRequestID: accepted.body.runRequestID, status: 'SUCCEEDED' }]);
    socket.close();
  });

  it("learns of a job's end from Batch's events, without a DescribeJobs call", async () => {
    const before = await local.state();

    // A job of a second, far longer than the scaled schedule (10 s deadline × 0.01): the only check
    // before the deadline is at the deadline, as deployed, so no safety-net DescribeJobs may happen.
    const accepted = await post({ processname: 'sample', clientname: 'e2e', parameters: { message: 'events', sleepSeconds: '1' } });
    const final = await finalStatus(accepted.body.runRequestID);
    await local.idle();
    const after = await local.state();

    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect((after.batchCalls as Json).DescribeJobs ?? 0).toBe((before.batchCalls as Json).DescribeJobs ?? 0);
    expect((after.events as Json).delivered - (before.events as Json).delivered).toBe(2);
  });

  it('ends a job whose command exits non-zero FAILED, with its reason', async () => {
    const accepted = await post({ processname: 'sample', clientname: 'e2e', parameters: { exitCode: '3' } });

    const final = await finalStatus(accepted.body.runRequestID);

    expect(final).toMatchObject({ status: 'FAILED', exitCode: 3, reason: expect.stringContaining('Essential container in task exited') });
  });

  it('REJECTS an unknown route with the reason', async () => {
    const accepted = await post({ processname: 'no-such-route', clientname: 'e2e' });

    expect(await finalStatus(accepted.body.runRequestID)).toMatchObject({ status: 'REJECTED', reason: 'no route for processname no-such-route' });
  });

  const badRequests: Record<string, [body: unknown, status: number, contentType?: string]> = {
    'malformed JSON': ['{"processname": "sample",', 400],
    'a missing field': [{ processname: 'sample' }, 400],
    'an unknown field': [{ processname: 'sample', clientname: 'e2e', priority: 1 }, 400],
    'a field over its length': [{ processname: 'sample', clientname: 'x'.repeat(257) }, 400],
    'a body over API Gateway\'s 10 MB': [{ processname: 'sample', clientname: 'x'.repeat(11 * 1024 * 1024) }, 413],
    'a body of 70 MB': [{ processname: 'sample', clientname: 'x'.repeat(70 * 1024 * 1024) }, 413],
    'a charset it cannot decode': [{ processname: 'sample', clientname: 'e2e' }, 415, 'application/json; charset=x-no-such-charset'],
  };
  it.each(Object.keys(badRequests))('answers %s with a clear message, and stores nothing', async (label) => {
    const [body, status, contentType] = badRequests[label];
    const before = (await local.idle()).executionsStarted;

    const response = await post(body, contentType);
    const after = (await local.idle()).executionsStarted;

    expect(response.status).toBe(status);
    expect(typeof response.body.message).toBe('string');
    expect(after).toBe(before);
  });

  it('answers a 70 MB body 413 so that every client reads it, on a busy machine too', async () => {
    // Node's clients, answered while still sending, lose a 413 sent too early only some of the
    // time: each kind is tried several times. A client that reads only after sending loses it always.
    const ROUNDS = 3;
    // Two processes that keep both cores busy, as a loaded CI runner would; `timeout` ends them
    // should this test never reach its `finally` (it passes on the SIGTERM sent there; after a
    // SIGKILL its `yes` would run on).
    const hogs = [0, 1].map(() => spawn('timeout', ['120', 'yes'], { stdio: 'ignore' }));
    const body = Buffer.from(JSON.stringify({ processname: 'sample', clientname: 'x'.repeat(70 * 1024 * 1024) }));
    const keepAlive = new http.Agent({ keepAlive: true });
    const before = (await local.idle()).executionsStarted;
    const answers: string[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        answers.push(
          `http Connection: close: ${await postWithNodeHttp(body, false)}`,
          `http keep-alive: ${await postWithNodeHttp(body, keepAlive)}`,
          `fetch: ${await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
            async (response) => `${response.status} ${await response.text()}`,
            (error: Error) => `${error.message} (${(error.cause as NodeJS.ErrnoException | undefined)?.code})`,
          )}`,
          `reads only after sending: ${await postReadingOnlyAfterSending(body)}`,
        );
      }
    } finally {
      keepAlive.destroy();
      for (const hog of hogs) hog.kill('SIGTERM');
    }

    const refused = '413 {"message":"Request Too Long"}';
    expect(answers).toEqual(
      Array.from({ length: ROUNDS }, () => [`http Connection: close: ${refused}`, `http keep-alive: ${refused}`, `fetch: ${refused}`, `reads only after sending: ${refused}`]).flat(),
    );
    expect((await local.idle()).executionsStarted).toBe(before);
  }, 120_000);

  it('stores a body sent as ISO-8859-1 as it was meant ("Zoë")', async () => {
    const body = Buffer.from(JSON.stringify({ processname: 'no-such-route', clientname: 'Zoë' }), 'latin1');

    const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json; charset=ISO-8859-1' }, body });
    const { runRequestID } = (await response.json()) as Json;

    expect(response.status).toBe(202);
    expect((await get(runRequestID)).body).toMatchObject({ clientname: 'Zoë' });
  });

  it('starts no second execution when the stream replays a batch', async () => {
    const accepted = await post({ processname: 'sample', clientname: 'e2e' });
    await finalStatus(accepted.body.runRequestID);
    const started = (await local.idle()).executionsStarted;

    const replayed = await local.replayStream();
    const after = (await local.idle()).executionsStarted;

    expect(replayed).toBeGreaterThan(0);
    expect(after).toBe(started);
  });

  it('ends a stuck job TIMED_OUT at the route deadline', async () => {
    const accepted = await post({ processname: 'sample', clientname: 'e2e', parameters: { sleepSeconds: '60' } });

    const final = await finalStatus(accepted.body.runRequestID, 40_000);

    expect(final).toMatchObject({ status: 'TIMED_OUT', reason: expect.stringMatching(/^maximum run time of 10 s exceeded/) });
  }, 60_000);

  it('returns a barcode link that serves a PNG', async () => {
    const { socket, messages } = await connect('e2e-barcode');

    const accepted = await post({ processname: 'barcode', clientname: 'e2e', clientId: 'e2e-barcode', parameters: { text: 'HELLO-123' } });
    await finalStatus(accepted.body.runRequestID);
    await local.idle();
    const [message] = messages;
    const image = await fetch(message.url);

    expect(message).toMatchObject({ runRequestID: accepted.body.runRequestID, status: 'SUCCEEDED', url: expect.stringContaining('/barcode.png') });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(await image.arrayBuffer()));
    expect(png.width).toBeGreaterThan(png.height);
    socket.close();
  });
});

/** The artifacts bucket of the dev stack, as local mode names it: its prefix, then `local`. */
const LOCAL_ARTIFACTS_BUCKET = 'batch-gateway-dev-artifacts-local';

/** A GET of the front port with `rawPath` sent as it is (fetch would resolve `..` and `%2e%2e` first). */
function rawGet(rawPath: string): Promise<{ status: number; contentType?: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: new URL(local.statusPageUrl).port, path: rawPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'], body }));
      })
      .on('error', reject);
  });
}

async function recent(query = ''): Promise<{ status: number; body: Json }> {
  const response = await rawGet(`/local/recent.json${query}`);
  return { status: response.status, body: JSON.parse(response.body) as Json };
}

describe('local mode, where results land', () => {
  it('keeps each job\'s output and each artifact under the data dir, where --json says', async () => {
    const job = await post({ processname: 'sample', clientname: 'e2e', parameters: { message: 'where-it-lands' } });
    const barcode = await post({ processname: 'barcode', clientname: 'e2e', parameters: { text: 'LANDS' } });
    const { jobId } = await finalStatus(job.body.runRequestID);
    await finalStatus(barcode.body.runRequestID);

    expect(local.jobLogsDir).toBe(path.join(local.dataDir, 'batch', 'logs'));
    expect(local.artifactsDir).toBe(path.join(local.dataDir, 's3', LOCAL_ARTIFACTS_BUCKET));
    expect(readFileSync(path.join(local.jobLogsDir, `${jobId}.log`), 'utf8')).toContain('batch-gateway sample job: where-it-lands');
    expect(existsSync(path.join(local.artifactsDir, barcode.body.runRequestID, 'barcode.png'))).toBe(true);
  });

  it('prints those places in its banner, and its PID', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-banner-'));
    const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'local.mjs'), '--port', '0', '--data-dir', dataDir, '--stack-dir', local.stackDir], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const banner: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! }).on('line', (line) => {
          banner.push(line);
          // The banner ends there; what the stop prints after it ("stopping...") is not the banner.
          if (line.startsWith('Ctrl-C')) {
            lines.close();
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`local mode exited with ${code}: ${banner.join('\n')}`)));
      });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }

    const line = (label: string) => banner.find((l) => l.startsWith(`  ${label} `));
    expect(line('artifacts')).toContain(` ${path.join(dataDir, 's3', LOCAL_ARTIFACTS_BUCKET, '<runRequestID>')}/ `);
    expect(line('job output')).toContain(` ${path.join(dataDir, 'batch', 'logs', '<jobId>.log')} `);
    expect(line('throttle')).toBe('  throttle      50 requests/s, burst 100, each REST method apart, then 429 (as the stage deploys; --no-api-throttle: off)');
    expect(banner.at(-1)).toBe(`Ctrl-C (or kill ${child.pid}) stops everything.`);
  }, 60_000);
});

describe("local mode's own endpoints, for the status page", () => {
  it("serves a job's output as text", async () => {
    const accepted = await post({ processname: 'sample', clientname: 'e2e', parameters: { message: 'log-line' } });
    const { jobId } = await finalStatus(accepted.body.runRequestID);

    const log = await rawGet(`/local/jobs/${encodeURIComponent(jobId)}/log`);

    expect(log).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: readFileSync(path.join(local.jobLogsDir, `${jobId}.log`), 'utf8') });
    expect(log.body).toContain('batch-gateway sample job: log-line');
  });

  it('answers 404 for any id local Batch does not know, and reads no file for it', async () => {
    const accepted = await post({ processname: 'sample', clientname: 'e2e', parameters: { message: 'not-for-tricks' } });
    const { jobId } = await finalStatus(accepted.body.runRequestID);
    const tricks = [
      '/local/jobs/no-such-job/log',
      `/local/jobs/${jobId}x/log`,
      `/local/jobs/..%2F${jobId}/log`,
      `/local/jobs/..%2F..%2Fbatch%2Fjobs.jsonl/log`,
      `/local/jobs/x/..%2F..%2Flogs%2F${jobId}/log`,
      `/local/jobs/../jobs/${jobId}/log`,
      `/local/jobs/${jobId}/../log`,
      '/local/jobs/../../../../etc/passwd/log',
      '/local/jobs/%2e%2e/log',
      '/local/jobs/%E0%A4%A/log',
      '/local/jobs//log',
    ];

    for (const trick of tricks) {
      const response = await rawGet(trick);
      expect({ trick, status: response.status, contentType: response.contentType }).toEqual({ trick, status: 404, contentType: 'application/json' });
      expect(response.body).not.toContain('batch-gateway sample job');
    }
  });

  it('lists the requests received last, newest first, as GET shows them', async () => {
    const first = await post({ processname: 'sample', clientname: 'e2e-recent', parameters: { exitCode: '3' } });
    const second = await post({ processname: 'no-such-route', clientname: 'e2e-recent' });
    const third = await post({ processname: 'barcode', clientname: 'e2e-recent', parameters: { text: 'RECENT' } });
    const ids = [third, second, first].map((r) => r.body.runRequestID);
    await Promise.all(ids.map((id) => finalStatus(id)));
    // Nothing changes them any more (the notification's outcome is written after the status).
    await local.idle();
    const shown = await Promise.all(ids.map(async (id) => (await get(id)).body));

    const listed = await recent('?limit=3');

    expect(listed).toEqual({ status: 200, body: { runRequests: shown } });
    expect(shown[2]).toMatchObject({ status: 'FAILED', exitCode: 3, jobId: expect.any(String) });
  });

  it('lists 20 without a limit, and from 1 to 100 with one', async () => {
    for (let i = 0; i < 21; i++) await post({ processname: 'no-such-route', clientname: 'e2e-limit' });
    await local.idle();

    const byDefault = await recent();
    const one = await recent('?limit=1');
    const most = await recent('?limit=100');

    expect(byDefault.body.runRequests).toHaveLength(20);
    expect(one.body.runRequests).toEqual([byDefault.body.runRequests[0]]);
    expect(most.body.runRequests.slice(0, 20)).toEqual(byDefault.body.runRequests);
    for (const limit of ['0', '101', '-1', '2.5', 'abc', '']) {
      const refused = await recent(`?limit=${limit}`);
      expect({ limit, ...refused }).toEqual({ limit, status: 400, body: { message: `limit must be a whole number from 1 to 100 (got ${limit})` } });
    }
  });
});

describe('local mode, throttled as the deployed stage is', () => {
  /** 429s and the other statuses of `n` POSTs sent at once; invalid bodies, so that nothing runs. */
  const burst = async (url: string, n: number) => {
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: n }, () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"processname": 7}' }).then(async (r) => ({ status: r.status, body: await r.text() }))),
    );
    return { responses, seconds: (performance.now() - started) / 1000 };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('says what it throttles at: the stage default of the synthesized stack, per method', () => {
    expect(local.apiThrottle).toEqual({ 'POST /runrequests': { rateLimit: 50, burstLimit: 100 }, 'GET /runrequests/{runRequestID}': { rateLimit: 50, burstLimit: 100 } });
  });

  it("answers a burst past the stage's 100 with 429s, and a rate under its 50/s with none", async () => {
    // Act
    const { responses, seconds } = await burst(local.runRequestsUrl, 200);
    const steady: number[] = [];
    for (let i = 0; i < 20; i++) {
      await sleep(50);
      steady.push((await post('{"processname": 7}')).status);
    }
    const throttledCount = Number((await local.state()).apiThrottledRequests);
    // The bucket full again for the tests after this one.
    await sleep(2_100);

    // Assess: the burst, plus what came back at 50/s while it was on its way.
    const passed = responses.filter((r) => r.status === 400).length;
    const refused = responses.filter((r) => r.status === 429);
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(100 + Math.ceil(50 * seconds) + 1);
    expect(refused.length).toBe(200 - passed);
    expect(new Set(refused.map((r) => r.body))).toEqual(new Set(['{"message":"Too Many Requests"}']));
    expect(steady).toEqual(Array(20).fill(400));
    expect(throttledCount).toBeGreaterThanOrEqual(refused.length);
  });

  it('lets every request pass with --no-api-throttle, and says so', async () => {
    const unthrottled = await startLocalProcess('e2e-unthrottled', undefined, ['--no-api-throttle']);
    try {
      const { responses } = await burst(unthrottled.runRequestsUrl, 200);

      expect(unthrottled.apiThrottle).toBeNull();
      expect(responses.map((r) => r.status)).toEqual(Array(200).fill(400));
    } finally {
      await unthrottled.stop();
    }
  }, 90_000);
});
