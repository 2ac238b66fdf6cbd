/**
 * npm prints a banner (`> batch-gateway@0.1.0 plan-review` ...) on stdout before a script's own
 * output: an example that redirects, pipes or captures npm's output must use `npm run -s` (or the
 * script's `--out`), or the banner lands in the file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** The shell lines of a Markdown text: code blocks and inline code, continuation lines joined. */
function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n/g, ' '));
  const inline = [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...blocks.flatMap((b) => b.split('\n')), ...inline];
}

/** npm commands on a line whose output goes to a file, a pipe or a variable, without -s or --out. */
function noisyRedirects(line: string): string[] {
  // Placeholders (<port>) and comments are not shell.
  const shell = line.replace(/<[^<>\s]+>/g, 'X').replace(/\s#.*$/, '');
  const noisy: string[] = [];
  for (const match of shell.matchAll(/\bnpm (?:run|start|test)\b/g)) {
    const rest = shell.slice(match.index);
    const end = rest.search(/;|&&|\|\||\||\)|$/);
    const command = rest.slice(0, end);
    const piped = rest[end] === '|' && rest[end + 1] !== '|';
    const captured = /\$\(\s*$/.test(shell.slice(0, match.index));
    // `2>` sends only stderr away; npm's banner is on stdout.
    const toFile = /(^|[^2&])>/.test(command);
    const quiet = /\s(-s|--silent)\b/.test(command) || /\s--out\b/.test(command);
    if ((piped || captured || toFile) && !quiet) noisy.push(command.trim());
  }
  return noisy;
}

describe('examples that redirect npm output', () => {
  it('are found by the check (a file, a pipe, a captured output)', () => {
    expect(noisyRedirects('npm run plan-review -- plan.json > review.md')).toHaveLength(1);
    expect(noisyRedirects('npm run reconcile -- --dry-run | tee out.txt')).toHaveLength(1);
    expect(noisyRedirects('ARN=$(npm run synth)')).toHaveLength(1);
    expect(noisyRedirects('npm run -s plan-review -- plan.json > review.md')).toEqual([]);
    expect(noisyRedirects('npm run plan-review -- plan.json --out review.md')).toEqual([]);
    expect(noisyRedirects('npm run local [-- --port 3000] # opens http://127.0.0.1:<port>/')).toEqual([]);
    expect(noisyRedirects('npm ci && npm start')).toEqual([]);
  });

  it('use npm run -s or --out in the README and every doc', () => {
    const files = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];
    const found = files.flatMap((file) => shellLines(readFileSync(path.join(root, file), 'utf8')).flatMap((line) => noisyRedirects(line).map((c) => `${file}: ${c}`)));

    expect(found).toEqual([]);
  });
});
