/**
 * The package as another team installs it: `npm pack`, the tarball installed in a fresh CDKTF app
 * with its peers, a consumer `main.ts` type-checked against the declarations and synthesized from
 * the package root, both of its stacks through `terraform validate`, and no physical name shared.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTION_NAMES } from '../../contract';
import { initAndValidate, TerraformRun } from '../../scripts/lib/terraform';
import { parseSynthesized, physicalNames, Synthesized } from '../helpers/synth';

const root = path.join(__dirname, '..', '..');
const work = path.join(root, '.tmp', 'consumer-test');
const consumer = path.join(work, 'app');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('the package, installed in another CDKTF app', () => {
  let tarballFiles: string[];
  const stacks: Record<string, Synthesized> = {};
  const validations: Record<string, TerraformRun> = {};

  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(consumer, { recursive: true });
    // `npm test` built dist/ already; prepack would rebuild it under the other tests' feet.
    run('npm', ['run', '--silent', 'build:types'], root);
    const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root));
    tarballFiles = packed.files.map((f: { path: string }) => f.path);

    writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({
        name: 'orders-infrastructure',
        private: true,
        dependencies: {
          'batch-gateway': `file:${path.join(work, packed.filename)}`,
          cdktf: pkg.devDependencies.cdktf,
          constructs: pkg.devDependencies.constructs,
          '@cdktf/provider-aws': pkg.devDependencies['@cdktf/provider-aws'],
          '@types/node': pkg.devDependencies['@types/node'],
        },
        // On CDK Terrain (npm run check:cdktn) the consumer needs the same override as the project.
        overrides: pkg.overrides,
      }),
    );
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, skipLibCheck: true, types: ['node'], outDir: 'build' }, files: ['main.ts'] }),
    );
    copyFileSync(path.join(__dirname, '..', 'fixtures', 'consumer', 'main.ts'), path.join(consumer, 'main.ts'));
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], consumer);
    // The project's own TypeScript, on the consumer's sources and the package's declarations.
    run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], consumer);
    run(process.execPath, [path.join('build', 'main.js'), 'cdktf.out'], consumer);
    for (const stack of readdirSync(path.join(consumer, 'cdktf.out', 'stacks'))) {
      const dir = path.join(consumer, 'cdktf.out', 'stacks', stack);
      stacks[stack] = parseSynthesized(readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
      validations[stack] = initAndValidate(dir)[1];
    }
  }, 300_000);

  // The provider bindings alone are 390 MB.
  afterAll(() => rmSync(path.join(consumer, 'node_modules'), { recursive: true, force: true }));

  it('ships the compiled modules, the contract, their declarations and the Lambda bundles, and nothing else', () => {
    const top = new Set(tarballFiles.map((f) => (f.startsWith('dist/') ? path.dirname(f).split('/').slice(0, 3).join('/') : f)));

    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'dist/app/contract', 'dist/app/modules', 'dist/bundles', 'package.json']);
    expect(tarballFiles).toEqual(
      expect.arrayContaining(['dist/app/modules/index.js', 'dist/app/modules/index.d.ts', 'dist/app/modules/gateway/index.d.ts', 'dist/app/contract/index.js', 'dist/bundles/submit-job.zip']),
    );
    expect(tarballFiles.filter((f) => f.endsWith('.zip')).sort()).toEqual(FUNCTION_NAMES.map((name) => `dist/bundles/${name}.zip`).sort());
  });

  it('synthesizes the two stacks of the consumer app from the package root', () => {
    expect(Object.keys(stacks).sort()).toEqual(['orders-dev', 'orders-prod']);
    // Every function (the dev gateway has a barcode route and events completion).
    expect(Object.keys(stacks['orders-dev'].resource.aws_lambda_function)).toHaveLength(FUNCTION_NAMES.length);
    expect(stacks['orders-prod'].output!.statuses.value).toContain('SUCCEEDED');
  });

  it('passes terraform validate on both stacks', () => {
    for (const stack of Object.keys(stacks)) expect([stack, validations[stack].stdout]).toEqual([stack, expect.stringMatching(/Success! The configuration is valid/)]);
  });

  it('gives the two stacks no physical name in common', () => {
    const dev = physicalNames(stacks['orders-dev']);
    const prod = physicalNames(stacks['orders-prod']);

    expect(dev.length).toBeGreaterThan(40);
    expect(dev.filter((name) => prod.includes(name))).toEqual([]);
  });
});
