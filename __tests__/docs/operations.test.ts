/**
 * docs/operations.md (and the README's command table) against what exists: every output, physical
 * name and ARN it mentions is the synthesized dev stack's, every option of redrive and reconcile
 * is one their parsers take (and the docs list every one), and the local-mode recipe works.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { RunRequest } from '../../contract';
import { LOCAL_ACCOUNT } from '../../local/config';
import { RECONCILE_OPTIONS } from '../../scripts/lib/reconcile';
import { REDRIVE_OPTIONS } from '../../scripts/lib/redrive';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';
import { physicalNames, synthDev } from '../helpers/synth';

const root = path.join(__dirname, '..', '..');
const operations = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
/** The README's command table rows of the operator tools. */
const readmeCommands = readme.split('\n').filter((line) => /^\| `npm run (redrive|reconcile)\b/.test(line));
const TOOLS = { redrive: REDRIVE_OPTIONS, reconcile: RECONCILE_OPTIONS } as const;

describe('docs/operations.md and the dev stack', () => {
  const stack = synthDev();
  const names = new Set(physicalNames(stack).map((n) => n.slice(n.indexOf(':') + 1)));
  const [{ region }] = stack.provider!.aws;
  const texts = { 'docs/operations.md': operations, "the README's command table": readmeCommands.join('\n') };

  it('names the commands in the README table', () => {
    expect(readmeCommands.map((line) => /npm run (\w+)/.exec(line)![1])).toEqual(['redrive', 'reconcile']);
  });

  it('takes every value from an output the stack has', () => {
    const used = [...operations.matchAll(/terraform (?:-chdir=\S+ )?output (?:-raw )?([a-z_]+)/g)].map((m) => m[1]);

    expect(used.sort()).toEqual(['job_events_failed_queue_url', 'job_queue_arn', 'run_requests_table_name', 'state_machine_arn', 'stream_dead_letter_queue_url']);
    for (const output of used) expect(Object.keys(stack.output ?? {})).toContain(output);
    // Every output named in prose, in backticks, too.
    for (const [, output] of operations.matchAll(/output `([a-z_]+)`/g)) expect(Object.keys(stack.output ?? {})).toContain(output);
  });

  it.each(Object.entries(texts))('%s names only resources the stack creates, in its region', (_where, text) => {
    const prefixed = [...text.matchAll(/batch-gateway-[a-z0-9-]*[a-z0-9]/g)].map((m) => m[0]);
    const arns = [...text.matchAll(/arn:aws:(states|dynamodb|sqs):([a-z0-9-]+):(\d{12}):([^\s`"')]+)/g)];
    const queueUrls = [...text.matchAll(/https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/\d{12}\/([A-Za-z0-9_-]+)/g)];

    for (const name of prefixed) expect(names).toContain(name);
    for (const [arn, , arnRegion, account, resource] of arns) {
      // Local mode's account has its own region (checked against local mode below).
      if (account !== LOCAL_ACCOUNT) expect(`${arn}: ${arnRegion}`).toBe(`${arn}: ${region}`);
      // stateMachine:<name>, execution:<machine>:<id>, table/<name>[/stream/...]
      const named = /^(?:stateMachine|execution):([^:]+)|^table\/([^/]+)/.exec(resource);
      expect(names).toContain(named?.[1] ?? named?.[2]);
    }
    for (const [url, urlRegion, queue] of queueUrls) {
      expect(`${url}: ${urlRegion}`).toBe(`${url}: ${region}`);
      expect(names).toContain(queue);
    }
    // The folder the outputs are read in is the environment's.
    for (const [, environment] of text.matchAll(/cdktf\.out\/stacks\/([a-z0-9-]+)/g)) expect(environment).toBe('dev');
  });

  it('uses the region of the stack', () => {
    expect(operations).toContain(`export AWS_REGION=${region} `);
  });
});

describe('docs/operations.md and the options of redrive and reconcile', () => {
  /** The options on each line (code or prose) that runs the tool. */
  const optionsOnCommandLines = (text: string, tool: string): string[] =>
    text
      .split('\n')
      .map((line, i, lines) => (line.endsWith('\\') ? `${line} ${lines[i + 1]}` : line))
      .filter((line) => line.includes(`npm run ${tool} --`))
      .flatMap((line) => [...line.slice(line.indexOf(`npm run ${tool} --`) + `npm run ${tool} --`.length).matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));

  it.each(Object.keys(TOOLS))('%s: every option the docs or the README show is one the parser takes', (tool) => {
    const parser = Object.keys(TOOLS[tool as keyof typeof TOOLS]);
    const shown = [...optionsOnCommandLines(operations, tool), ...optionsOnCommandLines(readmeCommands.join('\n'), tool)];

    expect(shown.length).toBeGreaterThan(0);
    for (const option of shown) expect(parser).toContain(option);
  });

  it.each(Object.keys(TOOLS))("%s: the docs' synopsis and option table list every option the parser takes", (tool) => {
    const section = operations.slice(operations.indexOf(`## \`npm run ${tool}\``), operations.indexOf('\n## ', operations.indexOf(`## \`npm run ${tool}\``) + 1));
    const synopsis = section.slice(section.indexOf('```sh'), section.indexOf('```', section.indexOf('```sh') + 5));
    const table = [...section.matchAll(/^\| `--([a-z-]+)/gm)].map((m) => m[1]);

    for (const option of Object.keys(TOOLS[tool as keyof typeof TOOLS])) {
      expect(synopsis).toContain(`--${option}`);
      expect(table).toContain(option);
    }
  });

  it('mentions no option in prose that neither tool takes', () => {
    const all = new Set([...Object.keys(REDRIVE_OPTIONS), ...Object.keys(RECONCILE_OPTIONS)]);
    const mentioned = [...operations.matchAll(/`--([a-z][a-z-]*)/g)].map((m) => m[1]);

    for (const option of mentioned) expect(all).toContain(option);
  });
});

describe('docs/operations.md: reconcile against local mode', () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await startLocalProcess('docs-reconcile');
  }, 90_000);
  afterAll(() => local?.stop());

  it('shows the names local mode has, and the variables it sets', () => {
    const recipe = operations.slice(operations.indexOf('## Against local mode'));

    expect(recipe).toContain(`--table-name ${local.tableName} `);
    expect(recipe).toContain(`--state-machine-arn ${local.stateMachineArn} `);
    for (const [name, value] of Object.entries(local.operatorEnv)) {
      // Ports change with every start: the docs show <port>.
      expect(recipe).toContain(`${name}=${value.replace(/:\d+$/, ':<port>')}`);
    }
  });

  it('starts a request left ACCEPTED, with the environment local mode gives, and the run finishes', async () => {
    // Prepare: a request as the API stores it, two hours old, whose stream record never started it.
    const receivedAtEpochMs = Date.now() - 2 * 60 * 60_000;
    const request: RunRequest = {
      runRequestID: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      processname: 'barcode',
      clientname: 'docs',
      parameters: { text: 'RECONCILED' },
      callerIdentity: local.identity,
      status: 'ACCEPTED',
      receivedAt: new Date(receivedAtEpochMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      receivedAtEpochMs,
    };
    const dynamodb = new DynamoDBClient({
      region: local.operatorEnv.AWS_REGION,
      endpoint: local.operatorEnv.AWS_ENDPOINT_URL_DYNAMODB,
      credentials: { accessKeyId: local.operatorEnv.AWS_ACCESS_KEY_ID, secretAccessKey: local.operatorEnv.AWS_SECRET_ACCESS_KEY },
    });
    await dynamodb.send(new PutItemCommand({ TableName: local.tableName, Item: marshall(request) }));
    dynamodb.destroy();

    // Act: the docs' command, without --dry-run.
    const env: NodeJS.ProcessEnv = { ...process.env, ...local.operatorEnv };
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'reconcile.mjs'), '--table-name', local.tableName, '--state-machine-arn', local.stateMachineArn], { cwd: root, env, encoding: 'utf8' });
    await local.idle();

    // Assess
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`${request.runRequestID} (barcode, received ${request.receivedAt}, 120 min ago): started arn:aws:states:`);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toMatchObject({ candidates: 1, started: 1, failed: 0 });
    const response = await fetch(`${local.runRequestsUrl}/${request.runRequestID}`);
    expect(((await response.json()) as { status: string }).status).toBe('SUCCEEDED');
  }, 60_000);
});
