/**
 * The status page in a real browser (Debian's Chromium, driven by playwright-core): choose a route
 * and edit its parameters, submit a request, watch its status change live, see the barcode, an
 * error or the job's output; find the requests posted elsewhere; keep the WebSocket alive with
 * pings, and reconnect after the connection closes without losing an outcome. The page's
 * timers run on Playwright's fake clock where a test needs minutes to pass, or nothing to happen,
 * at its command. Screenshots are kept in test-artifacts/ (ignored by git, kept by CI).
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';

const artifacts = path.join(__dirname, '..', '..', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let local: LocalProcess;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  mkdirSync(artifacts, { recursive: true });
  local = await startLocalProcess('browser', undefined, ['--wait-scale', '0.01', '--batch-status-delay-ms', '20']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Closed network here: no background connections, no sandbox as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

/** The local mode's log events (JSON lines on its stderr) named `event`. */
function logEvents(event: string): Record<string, unknown>[] {
  return local.log.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return entry.event === event ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/** Ids of the connections the local WebSocket API opened for `clientId`, oldest first. */
function connectionsOf(clientId: string): string[] {
  return logEvents('ws connected')
    .filter((e) => e.clientId === clientId)
    .map((e) => String(e.connectionId));
}

/** A page opened on the status page, once its WebSocket is open. */
async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(local.statusPageUrl);
  await page.locator('#connection.open').waitFor({ timeout: 10_000 });
  return page;
}

/** A page on the fake clock, opened on the status page, once its WebSocket is open; returns its client id. */
async function openOnFakeClock(page: Page): Promise<string> {
  await page.clock.install();
  await page.goto(local.statusPageUrl);
  await page.locator('#connection.open').waitFor({ timeout: 10_000 });
  return (await page.locator('#client-id').textContent())!;
}

/** Submits the page's form; returns the new request's row and the body the page posted. */
async function submit(page: Page): Promise<{ row: Locator; posted: Record<string, unknown> }> {
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/runrequests')), page.click('#submit')]);
  const { runRequestID } = (await response.json()) as { runRequestID: string };
  return { row: page.locator(`#rr-${runRequestID}`), posted: response.request().postDataJSON() as Record<string, unknown> };
}

/** The parameter fields the form shows, as name → value. */
async function formParameters(page: Page): Promise<Record<string, string>> {
  const rows = page.locator('#parameter-rows .parameter');
  const names = await rows.locator('.parameter-name').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  const values = await rows.locator('.parameter-value').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

/** A request posted as curl would post it: not by the page. */
async function postElsewhere(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientname: 'curl', ...body }) });
  return ((await response.json()) as { runRequestID: string }).runRequestID;
}

async function statusOf(runRequestID: string): Promise<string> {
  return ((await (await fetch(`${local.runRequestsUrl}/${runRequestID}`)).json()) as { status: string }).status;
}

/** Waits, without a fixed sleep, until `condition` holds (polled every 50 ms, at most `timeoutMs`). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('status page', () => {
  it('submits a barcode request, shows its status live and the barcode', async () => {
    const page = await openPage();

    await page.selectOption('#processname', 'barcode');
    await page.getByLabel('value of text').fill('HELLO-123');
    const { row } = await submit(page);
    const status = row.locator('[data-testid="status"]');
    await status.filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 20_000 });
    const image = page.locator('img.artifact').first();
    await image.waitFor();
    // The image has loaded (a string: this runs in the page, not in Node).
    await page.waitForFunction("(() => { const img = document.querySelector('img.artifact'); return !!img && img.complete && img.naturalWidth > 0; })()");
    await page.screenshot({ path: path.join(artifacts, 'status-page-barcode.png'), fullPage: true });

    expect(await status.textContent()).toBe('SUCCEEDED');
    const size = await image.evaluate((img) => ({ width: (img as unknown as { naturalWidth: number }).naturalWidth, height: (img as unknown as { naturalHeight: number }).naturalHeight }));
    expect(size.width).toBeGreaterThan(size.height);
    expect(await row.locator('a.result-link').getAttribute('href')).toContain('/barcode.png');
    await page.close();
  }, 60_000);

  it('shows the error of a rejected request', async () => {
    const page = await openPage();

    await page.selectOption('#processname', 'barcode');
    await page.getByLabel('value of text').fill('café');
    const { row } = await submit(page);
    await row.locator('[data-testid="status"]').filter({ hasText: 'REJECTED' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(artifacts, 'status-page-rejected.png'), fullPage: true });

    expect(await row.locator('td.error').textContent()).toMatch(/^REJECTED: parameters\.text .*'é'/);
    await page.close();
  }, 60_000);

  it('pings on the keepalive interval and shows the pong', async () => {
    // Prepare
    const page = await browser.newPage();
    const clientId = await openOnFakeClock(page);
    const [connectionId] = connectionsOf(clientId);
    const config = (await (await fetch(`${local.statusPageUrl}local/config.json`)).json()) as Record<string, string>;
    const pingsOf = () => logEvents('ws message').filter((e) => e.connectionId === connectionId && e.routeKey === 'ping');
    expect(Number(config.keepaliveIntervalMs)).toBe(300_000);
    expect(pingsOf()).toHaveLength(0);

    // Act: the keepalive interval passes on the page's clock.
    await page.clock.runFor(Number(config.keepaliveIntervalMs));
    await page.locator('#keepalive').filter({ hasText: /^pong at / }).waitFor({ timeout: 10_000 });

    // Assess: one ping, routed and answered by the local WebSocket API, on the same connection.
    expect(pingsOf()).toEqual([expect.objectContaining({ replied: true, bytes: config.keepaliveMessage.length })]);
    expect(connectionsOf(clientId)).toEqual([connectionId]);
    await page.close();
  }, 60_000);

  it('reconnects after the server closes the connection, GETs what it awaits, and hears the next run', async () => {
    // Prepare: no status polling, so only the reconnect's own GET can tell the page how a run ended.
    const page = await browser.newPage();
    await page.route('**/local/config.json', async (route) => {
      const config = (await (await route.fetch()).json()) as Record<string, string>;
      await route.fulfill({ json: { ...config, statusPollMs: String(3_600_000) } });
    });
    const clientId = await openOnFakeClock(page);
    const [firstConnection] = connectionsOf(clientId);
    // Nothing on the page's clock runs until the test says so: the reconnect waits for the run to end.
    await page.clock.pauseAt(Date.now() + 1000);

    // Act 1: the server closes the connection (as API Gateway does at 2 hours); a run ends meanwhile.
    const managementUrl = `${local.websocketUrl.replace(/^ws:/, 'http:')}/@connections/${encodeURIComponent(firstConnection)}`;
    expect((await fetch(managementUrl, { method: 'DELETE' })).status).toBe(204);
    await page.locator('#connection.closed').filter({ hasText: /reconnecting in 1 s/ }).waitFor({ timeout: 10_000 });
    await page.selectOption('#processname', 'barcode');
    await page.getByLabel('value of text').fill('WHILE-AWAY');
    const { row: first } = await submit(page);
    await first.locator('[data-testid="status"]').filter({ hasText: 'ACCEPTED' }).waitFor({ timeout: 10_000 });
    const runRequestID = (await first.getAttribute('id'))!.replace(/^rr-/, '');
    await until(async () => ((await (await fetch(`${local.runRequestsUrl}/${runRequestID}`)).json()) as { status: string }).status === 'SUCCEEDED', 'the run to succeed');
    const statusWhileAway = await first.locator('[data-testid="status"]').textContent();

    // Act 2: the reconnect's backoff (at most 1 s the first time) passes.
    await page.clock.runFor(1000);
    await page.locator('#connection.open').waitFor({ timeout: 10_000 });
    await first.locator('[data-testid="status"]').filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 10_000 });

    // Assess 1: a new connection, and the outcome the page missed, from its GET.
    expect(statusWhileAway).toBe('ACCEPTED');
    const connections = connectionsOf(clientId);
    expect(connections).toHaveLength(2);
    expect(connections[1]).not.toBe(firstConnection);
    // The link too: GET returns it while it works.
    expect(await first.locator('td.result').textContent()).toMatch(/^open result.*link valid until \d{4}-/);

    // Act 3: another run, heard over the new connection.
    await page.getByLabel('value of text').fill('AFTER-RECONNECT');
    const { row: second } = await submit(page);
    await second.locator('[data-testid="status"]').filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(artifacts, 'status-page-reconnected.png'), fullPage: true });

    // Assess 2
    expect(await second.getAttribute('id')).not.toBe(`rr-${runRequestID}`);
    expect(await second.locator('a.result-link').getAttribute('href')).toContain('/barcode.png');
    await page.close();
  }, 90_000);

  it('shows the API\'s validation error for a request it refuses', async () => {
    // Once the socket is open: the page adds its submit handler only then, and a click before it
    // submits the form natively (a reload, no error shown), which a loaded machine made happen.
    const page = await openPage();

    await page.selectOption('#processname', 'sample');
    await page.getByLabel('value of message').fill('x'.repeat(5000));
    await page.click('#submit');
    const formError = page.locator('#form-error');
    await formError.filter({ hasText: '400' }).waitFor({ timeout: 10_000 });

    expect(await formError.textContent()).toMatch(/^400: /);
    await page.close();
  }, 30_000);

  it("offers the stack's routes, each with its default parameters", async () => {
    const page = await openPage();

    const routes = await page.locator('#processname option').evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
    await page.selectOption('#processname', 'sample');
    const sample = await formParameters(page);
    await page.selectOption('#processname', 'barcode');
    const barcode = await formParameters(page);

    expect(routes).toEqual(['sample', 'sample-timeout', 'barcode']);
    expect(sample).toEqual({ message: 'hello', sleepSeconds: '0', exitCode: '0' });
    expect(barcode).toEqual({ text: 'HELLO-123' });
    await page.close();
  }, 30_000);

  it('submits the parameters as edited: exitCode 3 ends FAILED, and the log link opens the job\'s output', async () => {
    const page = await openPage();

    await page.selectOption('#processname', 'sample');
    await page.getByLabel('value of exitCode').fill('3');
    await page.getByLabel('value of message').fill('edited-on-the-page');
    await page.getByLabel('remove sleepSeconds').click();
    await page.click('#add-parameter');
    await page.locator('#parameter-rows .parameter-name').last().fill('note');
    await page.getByLabel('value of note').fill('added');
    const { row, posted } = await submit(page);
    await row.locator('[data-testid="status"]').filter({ hasText: 'FAILED' }).waitFor({ timeout: 20_000 });
    // The job's id and exit code come with the GET that follows the WebSocket's message.
    const job = row.locator('td').last();
    await job.filter({ hasText: 'exit code 3' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(artifacts, 'status-page-failed-job.png'), fullPage: true });
    const [logPage] = await Promise.all([page.waitForEvent('popup'), job.locator('a.log-link').click()]);
    await logPage.waitForLoadState();

    expect(posted.parameters).toEqual({ message: 'edited-on-the-page', exitCode: '3', note: 'added' });
    expect(await job.textContent()).toBe('log exit code 3');
    expect(await logPage.locator('body').textContent()).toContain('batch-gateway sample job: edited-on-the-page');
    await logPage.close();
    await page.close();
  }, 60_000);

  it('says which parameter is wrong before posting', async () => {
    const page = await openPage();
    let posts = 0;
    page.on('request', (request) => void (request.method() === 'POST' && (posts += 1)));

    await page.selectOption('#processname', 'barcode');
    await page.click('#add-parameter');
    await page.locator('#parameter-rows .parameter-value').last().fill('orphan');
    await page.click('#submit');
    const noName = await page.locator('#form-error').textContent();
    await page.locator('#parameter-rows .parameter-name').last().fill('text');
    await page.click('#submit');
    const twice = await page.locator('#form-error').textContent();

    expect(noName).toBe('the value "orphan" has no parameter name');
    expect(twice).toBe('parameter text is given twice');
    expect(posts).toBe(0);
    await page.close();
  }, 30_000);

  it('lists the requests received last, posted elsewhere too, and follows their statuses', async () => {
    const finished = await postElsewhere({ processname: 'sample', parameters: { message: 'posted-by-curl' } });
    await until(async () => (await statusOf(finished)) === 'SUCCEEDED', 'the first run to succeed');
    const running = await postElsewhere({ processname: 'sample', parameters: { sleepSeconds: '5' } });

    const page = await openPage();
    const finishedRow = page.locator(`#rr-${finished}`);
    const runningRow = page.locator(`#rr-${running}`);
    const runningAtFirst = await runningRow.locator('[data-testid="status"]').textContent();
    await runningRow.locator('[data-testid="status"]').filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 20_000 });

    expect(await page.locator('#requests tr').nth(0).getAttribute('id')).toBe(`rr-${running}`);
    expect(await page.locator('#requests tr').nth(1).getAttribute('id')).toBe(`rr-${finished}`);
    expect(await finishedRow.locator('td').nth(1).textContent()).toBe('sample');
    expect(await finishedRow.locator('[data-testid="status"]').textContent()).toBe('SUCCEEDED');
    expect(await finishedRow.locator('a.log-link').getAttribute('href')).toMatch(/^local\/jobs\/[^/]+\/log$/);
    // A Batch job returns no link: the page says where its artifacts land instead.
    expect(await finishedRow.locator('td.result').textContent()).toBe(`no link: a Batch job's artifacts are what its command writes, here under ${local.artifactsDir}/${finished}/`);
    expect(runningAtFirst).not.toBe('SUCCEEDED');
    await page.close();
  }, 60_000);

  it('shows a result link the list or a GET carries, with when it stops working', async () => {
    const page = await browser.newPage();
    // A request whose item holds its link (as the API keeps it), listed first.
    const link = { runRequestID: 'with-link', status: 'SUCCEEDED', processname: 'barcode', url: `${local.statusPageUrl}with-link/barcode.png`, urlExpiresAt: '2030-01-01T00:00:00Z' };
    await page.route('**/local/recent.json*', (route) => route.fulfill({ json: { runRequests: [link] } }));
    await page.goto(local.statusPageUrl);

    const row = page.locator('#rr-with-link');
    await row.waitFor({ timeout: 10_000 });

    expect(await row.locator('a.result-link').getAttribute('href')).toBe(link.url);
    expect(await row.locator('td.result').textContent()).toContain('link valid until 2030-01-01T00:00:00Z');
    await page.close();
  }, 30_000);
});

