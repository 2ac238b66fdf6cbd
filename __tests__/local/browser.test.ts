/**
 * The status page in a real browser (Debian's Chromium, driven by playwright-core): submit a
 * request, watch its status change live, see the barcode, see an error. Screenshots are kept in
 * test-artifacts/ (ignored by git, kept by CI).
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
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

describe('status page', () => {
  it('submits a barcode request, shows its status live and the barcode', async () => {
    const page = await browser.newPage();
    await page.goto(local.statusPageUrl);
    await page.locator('#connection.open').waitFor({ timeout: 10_000 });

    await page.selectOption('#processname', 'barcode');
    await page.fill('#text', 'HELLO-123');
    await page.click('#submit');
    const status = page.locator('#requests tr').first().locator('[data-testid="status"]');
    await status.filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 20_000 });
    const image = page.locator('img.artifact').first();
    await image.waitFor();
    // The image has loaded (a string: this runs in the page, not in Node).
    await page.waitForFunction("(() => { const img = document.querySelector('img.artifact'); return !!img && img.complete && img.naturalWidth > 0; })()");
    await page.screenshot({ path: path.join(artifacts, 'status-page-barcode.png'), fullPage: true });

    expect(await status.textContent()).toBe('SUCCEEDED');
    const size = await image.evaluate((img) => ({ width: (img as unknown as { naturalWidth: number }).naturalWidth, height: (img as unknown as { naturalHeight: number }).naturalHeight }));
    expect(size.width).toBeGreaterThan(size.height);
    expect(await page.locator('a.result-link').first().getAttribute('href')).toContain('/barcode.png');
    await page.close();
  }, 60_000);

  it('shows the error of a rejected request', async () => {
    const page = await browser.newPage();
    await page.goto(local.statusPageUrl);
    await page.locator('#connection.open').waitFor({ timeout: 10_000 });

    await page.selectOption('#processname', 'barcode');
    await page.fill('#text', 'café');
    await page.click('#submit');
    const row = page.locator('#requests tr').first();
    await row.locator('[data-testid="status"]').filter({ hasText: 'REJECTED' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(artifacts, 'status-page-rejected.png'), fullPage: true });

    expect(await row.locator('td.error').textContent()).toMatch(/^REJECTED: parameters\.text .*'é'/);
    await page.close();
  }, 60_000);

  it('shows the API\'s validation error for a request it refuses', async () => {
    const page = await browser.newPage();
    await page.goto(local.statusPageUrl);

    await page.selectOption('#processname', 'sample');
    await page.fill('#text', 'x'.repeat(5000));
    await page.click('#submit');
    const formError = page.locator('#form-error');
    await formError.filter({ hasText: '400' }).waitFor({ timeout: 10_000 });

    expect(await formError.textContent()).toMatch(/^400: /);
    await page.close();
  }, 30_000);
});
