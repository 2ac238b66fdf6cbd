/**
 * The bad inputs a newcomer meets in the first hour, through the scripts as npm runs them: each
 * answer is one line that says what is wrong, the value and what to do, with no stack trace; and
 * the README's Troubleshooting table quotes those lines as the tools print them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AWS_REGIONS, parseConfig, regionHint } from '../../app/config';
import { DEFAULT_ENVIRONMENT, synthesize } from '../../main';
import { mirrorRootOf, terraformPlatform } from '../../scripts/lib/provider-mirror';
import { initAndValidate } from '../../scripts/lib/terraform';
import { startLocalProcess } from '../helpers/local-process';
import { devConfig } from '../helpers/synth';

const root = path.join(__dirname, '..', '..');
const work = path.join(root, '.tmp', 'user-errors');
const STACK_TRACE = /^\s+at /m;
const BUSYBOX = 'public.ecr.aws/docker/library/busybox:1.36';

/** Runs a script of scripts/ with node, as `npm run` does, in `cwd`. */
function runScript(script: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(process.execPath, [path.join(options.cwd ?? root, 'scripts', script), ...args], { cwd: options.cwd ?? root, env: options.env ?? process.env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every line a tool printed here, for the README check at the end. */
const printed: string[] = [];
function record(stderr: string): string {
  printed.push(...stderr.split('\n'));
  return stderr;
}

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
});

describe('a region the provider does not know', () => {
  it('is refused with the nearest region, the regions of its kind, or where the list is', () => {
    const messageFor = (region: string) => {
      try {
        parseConfig(devConfig((dev) => Object.assign(dev, { region })));
      } catch (err) {
        return (err as Error).message.split('\n')[1];
      }
      return 'accepted';
    };

    expect(messageFor('eu-wset-1')).toBe('  environments.dev.region: must be an AWS region such as eu-west-1 (got "eu-wset-1"): did you mean eu-west-1?');
    expect(messageFor('US-EAST-1')).toBe('  environments.dev.region: must be an AWS region such as eu-west-1 (got "US-EAST-1"): did you mean us-east-1?');
    expect(regionHint('ap-southeast-6')).toBe(
      ': hashicorp/aws 5.100.0 knows ap-southeast-1, ap-southeast-2, ap-southeast-3, ap-southeast-4, ap-southeast-5, ap-southeast-7; a newer region needs a newer provider and an entry in AWS_REGIONS (app/config.ts)',
    );
    expect(regionHint('Europe')).toBe(': not a region hashicorp/aws 5.100.0 knows (AWS_REGIONS in app/config.ts lists them)');
    expect(messageFor('eu-west-1')).toBe('accepted');
  });

  it("accepts every region of the commercial, China and GovCloud partitions the provider knows", () => {
    for (const region of [...AWS_REGIONS.aws, ...AWS_REGIONS['aws-cn'], ...AWS_REGIONS['aws-us-gov']]) {
      expect(() => parseConfig(devConfig((dev) => Object.assign(dev, { region })))).not.toThrow();
    }
    expect(AWS_REGIONS['aws-cn']).toEqual(['cn-north-1', 'cn-northwest-1']);
    expect(AWS_REGIONS['aws-us-gov']).toEqual(['us-gov-east-1', 'us-gov-west-1']);
  });

  it('stops npm run local and npm start in one message, before anything runs', () => {
    // A copy of the project whose configuration has the typo, as a newcomer would edit it.
    const copy = path.join(work, 'project');
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of files) cpSync(path.join(root, file), path.join(copy, file), { recursive: true });
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    const configFile = path.join(copy, 'batch-gateway.config.ts');
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace("region: 'us-east-1'", "region: 'eu-wset-1'"));
    const expected = 'batch-gateway: invalid configuration in batch-gateway.config.ts\n  environments.dev.region: must be an AWS region such as eu-west-1 (got "eu-wset-1"): did you mean eu-west-1?\n';

    for (const script of ['local.mjs', 'plan.mjs']) {
      const result = runScript(script, [], { cwd: copy });

      expect(record(result.stderr)).toBe(expected);
      expect(result.status).toBe(1);
    }
  }, 120_000);
});

describe('a mistake in a route', () => {
  /** The lines after the first of what parseConfig says of the dev configuration with `thumbnails` set to `route`. */
  const linesFor = (route: unknown): string[] => {
    try {
      parseConfig(devConfig((dev) => Object.assign(dev.routes, { thumbnails: route })));
    } catch (err) {
      return (err as Error).message.split('\n').slice(1);
    }
    return ['accepted'];
  };
  const at = '  environments.dev.routes.thumbnails';

  it.each([
    [{ image: BUSYBOX, vcpus: '1' }, `${at}.vcpus: must be a number of vCPUs such as 0.25 or 1 (got "1")`],
    [{ image: BUSYBOX, maxRunTimeSeconds: '60' }, `${at}.maxRunTimeSeconds: must be a whole number of seconds such as 3600 (got "60")`],
    [{ image: BUSYBOX, command: 'echo hi' }, `${at}.command: must be a list of strings, one per argument, such as ['echo', 'hi'] (got "echo hi")`],
    [{ image: '', command: ['echo'] }, `${at}.image: must be a container image such as public.ecr.aws/docker/library/busybox:1.36 (got "")`],
    [{ existingJobDefinition: 'team-report', vcpus: 1 }, `${at}: Unrecognized key: "vcpus" (an existingJobDefinition route takes existingJobDefinition, parameters, maxRunTimeSeconds, terminateOnTimeout, completion, polling)`],
  ])('%j: names the field of the kind the route is, its value and what it may be', (route, line) => {
    expect(linesFor(route)).toEqual([line]);
  });

  it('without image, existingJobDefinition or lambda, names the three', () => {
    expect(linesFor({ command: ['echo', 'hi'], vcpus: 1 })).toEqual([`${at}: give exactly one of image (a job definition created here), existingJobDefinition or lambda (got none)`]);
    expect(linesFor({ image: BUSYBOX, lambda: 'barcode' })).toEqual([`${at}: give exactly one of image (a job definition created here), existingJobDefinition or lambda (got image and lambda)`]);
  });

  it('lists every bad value of the route in one message', () => {
    expect(linesFor({ image: BUSYBOX, vcpus: '1', command: 'echo hi', maxRunTimeSeconds: '60' })).toEqual([
      `${at}.command: must be a list of strings, one per argument, such as ['echo', 'hi'] (got "echo hi")`,
      `${at}.vcpus: must be a number of vCPUs such as 0.25 or 1 (got "1")`,
      `${at}.maxRunTimeSeconds: must be a whole number of seconds such as 3600 (got "60")`,
    ]);
  });

  it('stops the synth at a Ref:: placeholder the route does not declare, naming the parameters it has', () => {
    const config = devConfig((dev) => Object.assign(dev.routes, { thumbnails: { image: BUSYBOX, command: ['sh', '-c', 'echo "$0" "$1"', 'Ref::input', 'Ref::sizes'], parameters: { input: 's3://example/none', size: '64' } } }));

    expect(() => synthesize({ outdir: path.join(work, 'ref-out'), config })).toThrow(
      'batch-gateway: invalid configuration in batch-gateway.config.ts\n' +
        `${at}.command.4: Ref::sizes is not a parameter of the route, whose parameters are input, size (got "Ref::sizes"): declare each parameter the command takes in parameters, with its default ('' when every request gives it), e.g. parameters: { sizes: '' }`,
    );
    // Declared with an empty default, a parameter every request gives is taken.
    expect(linesFor({ image: BUSYBOX, command: ['echo', 'Ref::input'], parameters: { input: '' } })).toEqual(['accepted']);
  });

  it("refuses a Ref:: placeholder inside a longer argument (a shell would run the caller's text) unless the route opts in", () => {
    const route = { image: BUSYBOX, command: ['sh', '-c', 'echo Ref::input'], parameters: { input: 'x' } };

    expect(linesFor(route)).toEqual([
      `${at}.command.2: must not embed Ref::input in a longer argument: Batch pastes a caller's text into it, and a shell runs that text as code (got "echo Ref::input"): pass Ref::input as an argument of its own, e.g. ['sh', '-c', 'echo "$0"', 'Ref::input'], or set allowParameterInterpolation: true to take that risk`,
    ]);
    expect(linesFor({ ...route, allowParameterInterpolation: true })).toEqual(['accepted']);
    expect(linesFor({ ...route, command: ['sh', '-c', 'echo "$0"', 'Ref::input'] })).toEqual(['accepted']);
  });

  it("is what the README's example of a bad configuration shows", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const shown = /\n```\n(batch-gateway: invalid configuration in [\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Environments')))![1];
    const config = devConfig((dev) => {
      Object.assign(dev, { region: 'eu-wset-1', maxVcpus: 0 });
      Object.assign(dev.routes, { thumbnails: { image: BUSYBOX, command: ['sh', '-c', 'echo "$0"', 'Ref::inptu'], parameters: { input: '' }, vcpus: '1' } });
    });

    expect(() => parseConfig(config)).toThrow(shown.trimEnd());
  });
});

describe('npm run local', () => {
  let stackDir: string;
  let taken: Server;

  beforeAll(async () => {
    synthesize({ outdir: path.join(work, 'out'), offlinePlan: true });
    stackDir = path.join(work, 'out', 'stacks', DEFAULT_ENVIRONMENT);
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  }, 60_000);
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('on a port in use, says so and suggests --port, in one line', () => {
    const port = (taken.address() as { port: number }).port;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bg-port-'));

    const result = runScript('local.mjs', ['--stack-dir', stackDir, '--port', String(port), '--data-dir', dataDir]);

    rmSync(dataDir, { recursive: true, force: true });
    expect(record(result.stderr.replace(`port ${port} `, 'port 3000 '))).toBe(
      'local mode could not start: port 3000 on 127.0.0.1 is in use (another npm run local?): stop it, or choose another port with --port N (--port 0 takes a free one)\n',
    );
    expect(result.status).toBe(1);
  }, 60_000);

  it('on a data dir another local mode holds, names its PID and --data-dir, in one line', async () => {
    const first = await startLocalProcess('user-errors-lock');
    try {
      const result = runScript('local.mjs', ['--stack-dir', stackDir, '--port', '0', '--data-dir', first.dataDir]);
      const lockFile = path.join(first.dataDir, 'local-mode.pid');
      const pid = Number(readFileSync(lockFile, 'utf8'));

      expect(record(result.stderr.replaceAll(first.dataDir, '.local-data').replaceAll(String(pid), '4242'))).toBe(
        'local mode could not start: the data dir .local-data is in use by another local mode, PID 4242 (its lock file: .local-data/local-mode.pid): stop that one (kill 4242), or give this one another data dir with --data-dir DIR\n',
      );
      expect(result.status).toBe(1);
    } finally {
      await first.stop();
    }
  }, 90_000);

  it('npm test without Chromium says how to install it, in one line', () => {
    const missing = path.join(work, 'no-chromium');
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'preflight.mjs')], { env: { ...process.env, CHROMIUM_PATH: missing }, encoding: 'utf8' });

    expect(record(result.stderr.replace(missing, '/usr/bin/chromium'))).toMatch(/^npm test: no Chromium at \/usr\/bin\/chromium .*CHROMIUM_PATH to a Chromium binary\n$/);
    expect(result.status).toBe(1);
  });

  it('on a bad option, names it and shows the usage', () => {
    const result = runScript('local.mjs', ['--port', 'abc']);

    expect(result.stderr.split('\n')[0]).toBe('--port must be a port number (got abc)');
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.status).toBe(2);
  });

  it('answers a numeric parameter with API Gateway\'s own words: the type, not the field', async () => {
    const local = await startLocalProcess('user-errors');
    try {
      const response = await fetch(local.runRequestsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processname: 'sample', clientname: 'me', parameters: { count: 3 } }),
      });
      const body = (await response.json()) as Record<string, string>;

      expect(response.status).toBe(400);
      expect(body.details).toBe('[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]');
      record(`400 ${JSON.stringify({ message: body.message, details: body.details }).replace(/,"/g, ', "').replace(/":/g, '": ')}`);
    } finally {
      await local.stop();
    }
  }, 90_000);

  it('without registry access or a mirror, says where it looked and what to set', () => {
    const noNetwork = path.join(work, 'no-network.tfrc');
    writeFileSync(noNetwork, 'provider_installation {\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n');
    const env: NodeJS.ProcessEnv = { ...process.env, TF_CLI_CONFIG_FILE: noNetwork };
    delete env.TF_PROVIDER_MIRROR;

    const failure = (act: () => unknown): string => {
      try {
        act();
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a failure');
    };

    const noMirror = failure(() => initAndValidate(stackDir, env, { mirrorSearch: { candidates: [], searchRoots: [] } }));
    const notAMirror = failure(() => mirrorRootOf(work));

    expect(noMirror).toMatch(/^terraform init could not get hashicorp\/aws from the registry, and no local mirror of hashicorp\/aws 5\.100\.0 \(\w+\) was found\.\n/);
    expect(notAMirror).toMatch(/^TF_PROVIDER_MIRROR is \S+, which is not in a provider mirror \(no registry\.terraform\.io\/ in it or above it\): expected/);
    // The README quotes this machine's kind of platform and an example folder.
    record(noMirror.replace(`(${terraformPlatform()})`, '(linux_amd64)'));
    record(notAMirror.replace(work, '/opt'));
  }, 60_000);
});

describe('npm run reconcile and npm run redrive without a region', () => {
  // No region anywhere the SDK looks: no variables, no profile files.
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_CONFIG_FILE: path.join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'none') };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete env[name];
  const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batch-gateway-dev-orchestration';

  it.each([
    ['reconcile.mjs', ['--table-name', 'batch-gateway-dev-table', '--state-machine-arn', arn], 'reconcile'],
    ['redrive.mjs', ['--queue-url', 'https://sqs.eu-west-1.amazonaws.com/123456789012/batch-gateway-dev-trigger-dead-letters', '--state-machine-arn', arn], 'redrive'],
  ])('%s says what to set, in one line', (script, args, tool) => {
    const result = runScript(script, args, { env });

    expect(record(result.stderr)).toBe(`${tool}: no AWS region: set AWS_REGION or pass --region (the state machine is in eu-west-1: AWS_REGION=eu-west-1)\n`);
    expect(result.status).toBe(1);
  });

  it('a mistyped --region is named with the nearest region', () => {
    const result = runScript('reconcile.mjs', ['--table-name', 't', '--state-machine-arn', arn, '--region', 'eu-wset-1'], { env });

    expect(result.stderr.split('\n')[0]).toBe("--region must be an AWS region such as eu-west-1 (got 'eu-wset-1'): did you mean eu-west-1?");
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.status).toBe(1);
  });
});

describe("the README's Troubleshooting table", () => {
  it('quotes every message as a tool prints it', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Troubleshooting'), readme.indexOf('\n## ', readme.indexOf('## Troubleshooting') + 1));
    // The first cell of each row: a message, or its start, in backticks.
    const quoted = [...section.matchAll(/^\| `(.+?)` \|/gm)].map((m) => m[1].replace(/, \.\.\.\}$/, ''));

    expect(quoted.length).toBeGreaterThanOrEqual(6);
    const said = printed.join('\n');
    for (const message of quoted) expect(said).toContain(message);
    expect(said).not.toMatch(STACK_TRACE);
  });
});
