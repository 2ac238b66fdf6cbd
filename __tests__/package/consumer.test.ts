/**
 * "Using it in your own stack", followed as the README gives it: the files of its code blocks
 * written as they stand, its commands run as they stand in a folder beside the packed tarball, so a
 * README edit that breaks the recipe fails here. The only thing put in is the provider mirror's
 * path (`TF_PROVIDER_MIRROR`'s mirror in place of the README's `/srv/tf-mirror`; without one, the
 * README's plain `terraform init`). Then: the tarball's contents, both stacks synthesized from the
 * package root and valid, the contract entry point, and no physical name shared.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTION_NAMES } from '../../contract';
import { mirrorRootOf } from '../../scripts/lib/provider-mirror';
import { parseSynthesized, physicalNames, Synthesized } from '../helpers/synth';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const section = /\n## Using it in your own stack\n([\s\S]*?)\n## /.exec(readme)![1];

/** The files of the section: a paragraph that starts with the file's name and ends with a colon, then its block. */
const files = [...section.matchAll(/(?:^|\n\n)`([^`\s/]+\.[a-z]+)`[^\n]*:\n\n```[a-z]*\n([\s\S]*?)\n```/g)].map(([, name, text]) => ({ name, text: `${text}\n` }));
/** The shell blocks: in batch-gateway's checkout, then in the app's folder. */
const [packCommands, appCommands] = [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map(([, text]) => text);
/** The app's folder, as the README names it, beside the checkout (the tarball's path is `../batch-gateway/...`). */
const appName = /a folder `([^`]+)`/.exec(section)![1];
const README_MIRROR = '/srv/tf-mirror';

const work = path.join(root, '.tmp', 'consumer-test');
const checkout = path.join(work, 'batch-gateway');
const consumer = path.join(work, appName);

describe('"Using it in your own stack", followed in a fresh folder', () => {
  let tarballFiles: string[];
  let tarball: string;
  let output: string;
  const stacks: Record<string, Synthesized> = {};

  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(checkout, { recursive: true });
    mkdirSync(consumer, { recursive: true });
    // The README's `npm pack`, without prepack's rebuild: `npm test` built dist/ already, and a
    // rebuild would replace the bundles under the other tests' feet.
    execFileSync('npm', ['run', '--silent', 'build:types'], { cwd: root, stdio: 'pipe' });
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', checkout], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    tarballFiles = packed.files.map((f: { path: string }) => f.path);
    tarball = packed.filename;

    for (const file of files) writeFileSync(path.join(consumer, file.name), file.text);
    const mirror = process.env.TF_PROVIDER_MIRROR ? mirrorRootOf(process.env.TF_PROVIDER_MIRROR, { version: '5.100.0' }) : undefined;
    const commands = mirror ? appCommands.replaceAll(README_MIRROR, mirror) : appCommands.replaceAll(` -plugin-dir=${README_MIRROR}`, '');
    writeFileSync(path.join(work, 'readme-commands.sh'), `${commands}\n`);
    output = execFileSync('bash', ['-e', path.join(work, 'readme-commands.sh')], {
      cwd: consumer,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      // npm's and terraform's settings, not the commands': the cache first, no audit, no telemetry.
      env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' },
    });
    for (const stack of readdirSync(path.join(consumer, 'cdktf.out', 'stacks'))) {
      stacks[stack] = parseSynthesized(readFileSync(path.join(consumer, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), 'utf8'));
    }
  }, 600_000);

  // The provider bindings alone are 390 MB.
  afterAll(() => rmSync(path.join(consumer, 'node_modules'), { recursive: true, force: true }));

  it('gives every file and command: package.json with pinned versions, tsconfig.json, main.ts, npm pack, install, synth, init, validate', () => {
    const manifest = JSON.parse(files.find((f) => f.name === 'package.json')!.text);

    expect(files.map((f) => f.name)).toEqual(['package.json', 'tsconfig.json', 'main.ts']);
    expect(manifest.dependencies).toEqual({ '@cdktf/provider-aws': pkg.devDependencies['@cdktf/provider-aws'], cdktf: '0.21.0', constructs: pkg.devDependencies.constructs });
    expect(manifest.devDependencies.typescript).toMatch(/^~5\.9\./);
    expect(JSON.parse(files.find((f) => f.name === 'tsconfig.json')!.text).compilerOptions.module).toBe('commonjs');
    expect(packCommands).toMatch(new RegExp(`^npm pack .*writes ${tarball.replaceAll('.', '\\.')}$`));
    expect(appCommands).toContain(`npm install ../batch-gateway/${tarball}`);
    expect(appCommands).toContain(`terraform init -plugin-dir=${README_MIRROR}`);
  });

  it('ships the compiled modules, the contract, their declarations and the Lambda bundles, and nothing else', () => {
    const top = new Set(tarballFiles.map((f) => (f.startsWith('dist/') ? path.dirname(f).split('/').slice(0, 3).join('/') : f)));

    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'dist/app/contract', 'dist/app/modules', 'dist/bundles', 'package.json']);
    expect(tarballFiles).toEqual(
      expect.arrayContaining(['dist/app/modules/index.js', 'dist/app/modules/index.d.ts', 'dist/app/modules/gateway/index.d.ts', 'dist/app/contract/index.js', 'dist/bundles/submit-job.zip']),
    );
    expect(tarballFiles.filter((f) => f.endsWith('.zip')).sort()).toEqual(FUNCTION_NAMES.map((name) => `dist/bundles/${name}.zip`).sort());
  });

  it('synthesizes the two stacks of the app from the package root', () => {
    expect(Object.keys(stacks).sort()).toEqual(['orders-dev', 'orders-prod']);
    // Every function (the gateways have a barcode route and events completion).
    expect(Object.keys(stacks['orders-dev'].resource.aws_lambda_function)).toHaveLength(FUNCTION_NAMES.length);
    expect(stacks['orders-prod'].output!.run_requests_url).toBeDefined();
  });

  it('passes terraform validate on both stacks', () => {
    // eslint-disable-next-line no-control-regex
    const text = output.replace(/\x1b\[[0-9;]*m/g, '');

    expect(text.match(/Success! The configuration is valid/g)).toHaveLength(2);
    for (const stack of Object.keys(stacks)) expect([stack, existsSync(path.join(consumer, 'cdktf.out', 'stacks', stack, '.terraform.lock.hcl'))]).toEqual([stack, true]);
  });

  it('resolves the contract entry point, its declarations included', () => {
    writeFileSync(path.join(consumer, 'contract-check.ts'), "import { RUN_REQUEST_STATUSES } from 'batch-gateway/contract';\nconst statuses: readonly string[] = RUN_REQUEST_STATUSES;\nconsole.log(statuses.join(' '));\n");
    const tsc = path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '--strict', '--module', 'commonjs', '--moduleResolution', 'node', '--skipLibCheck', '--outDir', 'contract-check', 'contract-check.ts'], { cwd: consumer, stdio: 'pipe' });

    expect(execFileSync(process.execPath, [path.join('contract-check', 'contract-check.js')], { cwd: consumer, encoding: 'utf8' })).toContain('SUCCEEDED');
  });

  it('gives the two stacks no physical name in common', () => {
    const dev = physicalNames(stacks['orders-dev']);
    const prod = physicalNames(stacks['orders-prod']);

    expect(dev.length).toBeGreaterThan(40);
    expect(dev.filter((name) => prod.includes(name))).toEqual([]);
  });
});
