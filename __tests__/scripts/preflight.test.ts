/** `npm test` checks for the browser before anything else, and says in one line how to get it. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const preflight = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [path.join(root, 'scripts', 'preflight.mjs')], { env, encoding: 'utf8' });

describe('npm test preflight', () => {
  it('runs before typecheck, build and jest', () => {
    const { scripts } = require(path.join(root, 'package.json')) as { scripts: Record<string, string> };

    expect(scripts.test.split(' && ')[0]).toBe('node scripts/preflight.mjs');
  });

  it('stops at once without Chromium, with the one line that installs it', () => {
    const missing = path.join(root, '.tmp', 'no-such-chromium');
    const startedAt = Date.now();

    const result = preflight({ ...process.env, CHROMIUM_PATH: missing });

    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `npm test: no Chromium at ${missing} (the status page is tested in it): install it with \`sudo apt-get install -y chromium\`, or set CHROMIUM_PATH to a Chromium binary\n`,
    );
  });

  it('passes silently where the browser is', () => {
    const result = preflight({ ...process.env, CHROMIUM_PATH: process.execPath });

    expect([result.status, result.stderr]).toEqual([0, '']);
  });
});
