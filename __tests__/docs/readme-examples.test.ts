/**
 * The README's local-mode examples, run as written against `npm run local` of the repository's
 * own configuration (its default wait scale): each request posted as its `curl` line posts it,
 * and its outcome checked against the comment above it (status, exit code, quoted reason, link).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

interface Example {
  readonly comment: string;
  readonly body: Json;
  readonly status: string;
  readonly exitCode?: number;
  readonly reason?: string;
  readonly link: boolean;
  readonly afterSeconds?: number;
}

/** The `# <STATUS> ...` comment and `curl ... -d '<json>'` line pairs of the local-mode block. */
function examples(): Example[] {
  const block = /Each outcome, as the `dev` routes give it[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('the README has no block of local-mode examples');
  const lines = block.split('\n');
  const found: Example[] = [];
  lines.forEach((line, i) => {
    const body = /-d '(\{.*\})'$/.exec(line)?.[1];
    if (!body) return;
    const comment = lines[i - 1];
    const status = /^# ([A-Z_]+)\b/.exec(comment)?.[1];
    if (!status) throw new Error(`no '# STATUS' comment above: ${line}`);
    found.push({
      comment,
      body: JSON.parse(body) as Json,
      status,
      exitCode: /exit code (\d+)/.exec(comment) ? Number(/exit code (\d+)/.exec(comment)![1]) : undefined,
      reason: /"([^"]+)"/.exec(comment)?.[1],
      link: /link/.test(comment),
      afterSeconds: /after (\d+) s\b/.exec(comment) ? Number(/after (\d+) s\b/.exec(comment)![1]) : undefined,
    });
  });
  return found;
}

let local: LocalProcess;

beforeAll(async () => {
  // The repository's configuration and local mode's own defaults (no --wait-scale).
  local = await startLocalProcess('readme', undefined, []);
}, 90_000);

afterAll(async () => local?.stop());

it('has the examples the README promises: success, failure, timeout and rejection', () => {
  expect(examples().map((e) => e.status).sort()).toEqual(['FAILED', 'REJECTED', 'SUCCEEDED', 'SUCCEEDED', 'TIMED_OUT']);
});

it('does what each comment says', async () => {
  const posted = await Promise.all(
    examples().map(async (example) => {
      const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example.body) });
      return { example, postedAt: Date.now(), answer: (await response.json()) as Json, httpStatus: response.status };
    }),
  );
  await local.idle();

  for (const { example, postedAt, answer, httpStatus } of posted) {
    const final = (await (await fetch(`${local.runRequestsUrl}/${answer.runRequestID}`)).json()) as Json;
    const seen = { comment: example.comment, httpStatus, status: final.status, exitCode: final.exitCode, reason: final.reason, url: final.url };
    expect(seen).toMatchObject({
      comment: example.comment,
      httpStatus: 202,
      status: example.status,
      ...(example.exitCode !== undefined ? { exitCode: example.exitCode } : {}),
      ...(example.reason ? { reason: expect.stringContaining(example.reason) } : {}),
      ...(example.link ? { url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/.+\.png\?/) } : {}),
    });
    if (example.afterSeconds) {
      // The deadline runs from submission: not before it, and not long after.
      const endedAfterSeconds = (Date.parse(final.updatedAt) - postedAt) / 1000;
      expect(endedAfterSeconds).toBeGreaterThanOrEqual(example.afterSeconds - 1);
      expect(endedAfterSeconds).toBeLessThan(example.afterSeconds + 15);
    }
  }
}, 120_000);
