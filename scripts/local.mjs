// `npm run local -- [--stack NAME] [--port N] [--data-dir DIR] [--wait-scale X]`: build, synthesize,
// and run one environment's pipeline (dev by default) on this machine from those artifacts (see local/index.ts).
// For tests and tools: --stack-dir DIR uses an already synthesized stack (no build, no synth),
// --json prints one JSON line with the URLs and where results land once ready, --batch-status-delay-ms and
// --batch-throttle tune the local Batch, --no-api-throttle lets every request past the REST stage's
// throttle (on by default, at the rate and burst the stage deploys); --events-lost RATE, --events-repeated RATE and
// --events-delay-ms N make the local EventBridge lose, repeat and delay events (the safety net at work).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { synth } from './synth.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function usage(message) {
  console.error(`${message}\nusage: npm run local -- [--stack NAME] [--port N] [--data-dir DIR] [--wait-scale X] [--stack-dir DIR] [--json] [--batch-status-delay-ms N] [--batch-throttle N] [--no-api-throttle] [--identities FILE] [--require-signature] [--events-lost RATE] [--events-repeated RATE] [--events-delay-ms N] [--verbose]`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      stack: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'wait-scale': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'stack-dir': { type: 'string' },
      'batch-status-delay-ms': { type: 'string' },
      'batch-throttle': { type: 'string' },
      'no-api-throttle': { type: 'boolean', default: false },
      identities: { type: 'string' },
      'require-signature': { type: 'boolean', default: false },
      'events-lost': { type: 'string' },
      'events-repeated': { type: 'string' },
      'events-delay-ms': { type: 'string' },
    },
  }).values;
} catch (err) {
  usage(err.message);
}
const port = Number(args.port ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port must be a port number (got ${args.port ?? process.env.PORT})`);
const waitScale = Number(args['wait-scale'] ?? 0.1);
if (!(waitScale >= 0 && waitScale <= 1)) usage(`--wait-scale must be between 0 and 1 (got ${args['wait-scale']})`);
const dataDir = path.resolve(args['data-dir'] ?? path.join(root, '.local-data'));

const batchStatusDelayMs = args['batch-status-delay-ms'] === undefined ? undefined : Number(args['batch-status-delay-ms']);
const batchThrottlePerSecond = args['batch-throttle'] === undefined ? undefined : Number(args['batch-throttle']);
for (const [flag, value] of [['--batch-status-delay-ms', batchStatusDelayMs], ['--batch-throttle', batchThrottlePerSecond]]) {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) usage(`${flag} must be a number >= 0`);
}

const eventFaults = {};
for (const [flag, key, max] of [['events-lost', 'lostRate', 1], ['events-repeated', 'repeatedRate', 1], ['events-delay-ms', 'maxDelayMs', Infinity]]) {
  if (args[flag] === undefined) continue;
  const value = Number(args[flag]);
  if (!(value >= 0 && value <= max)) usage(`--${flag} must be a number from 0${max === 1 ? ' to 1' : ''} (got ${args[flag]})`);
  eventFaults[key] = value;
}

let stackDir;
try {
  stackDir = args['stack-dir'] ? path.resolve(args['stack-dir']) : await synth({ quiet: true, stack: args.stack });
} catch (err) {
  // A configuration or build error: its message says what to fix; a stack trace would bury it.
  console.error(err.message);
  process.exit(1);
}
const compiled = path.join(root, 'dist', 'app', 'local', 'index.js');
if (!existsSync(compiled)) {
  console.error(`${path.relative(process.cwd(), compiled)} is missing: run \`npm run build\` first (--stack-dir skips the build)`);
  process.exit(1);
}
const { startLocalMode } = require(compiled);
const { watchParents } = require(path.join(root, 'dist', 'app', 'local', 'parent-watch.js'));
const { consoleLog } = require(path.join(root, 'dist', 'app', 'local', 'types.js'));
// Local callers whose SigV4 signatures are verified (a JSON array of {accessKeyId, secretAccessKey, arn}).
const { readIdentities } = require(path.join(root, 'dist', 'app', 'local', 'sigv4.js'));
let identities;
if (args.identities !== undefined) {
  try {
    identities = readIdentities(path.resolve(args.identities));
  } catch (err) {
    usage(err.message);
  }
}
if (args['require-signature'] && !identities) usage('--require-signature needs --identities FILE: with no identity, every request would be refused');

// The services' start-up events are held until local mode is ready: when it cannot start, the
// one line saying why is all a user needs. --verbose prints them as they happen.
const eventLog = consoleLog('local');
const held = [];
let holding = !args.verbose;
const log = (event, fields = {}) => {
  // The time of the event itself, not of its printing (`time` comes first in every line).
  if (holding) held.push([event, { time: new Date().toISOString(), ...fields }]);
  else eventLog(event, fields);
};
let local;
let stopping = false;
/** A stop asked for while local mode was starting: done once it has started. */
let stopWhenStarted;
/** Closes local mode and ends the process (`announce` says why). */
async function stop(announce) {
  if (local === undefined) return void (stopWhenStarted ??= announce);
  if (stopping) return;
  stopping = true;
  announce();
  await local.close();
  process.exit(0);
}
// Stopping npm (or whatever started local mode) by its PID stops local mode too: it would hold its port and data dir on.
watchParents((pid) =>
  stop(() => {
    // Where the parent's pipe was, nobody reads any more: a write there must not end the process first.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    console.error(`local mode stops: the process that started it (PID ${pid}) has ended`);
  }),
);
try {
  local = await startLocalMode({ root, port, dataDir, stackDir, waitScale, apiThrottle: !args['no-api-throttle'], identities, requireSignature: args['require-signature'], batchStatusDelayMs, batchThrottlePerSecond, eventFaults, log, lambdaLogLevel: args.verbose ? 'INFO' : 'WARN' });
} catch (err) {
  console.error(`local mode could not start: ${startError(err)}`);
  process.exit(1);
}
holding = false;
for (const [event, fields] of held.splice(0)) eventLog(event, fields);
if (stopWhenStarted) await stop(stopWhenStarted);

/** The REST throttle in one line: each method's limits (one figure when all share them), or off. */
function throttleLine(throttles) {
  if (!throttles) return 'off (--no-api-throttle): every request passes, which no deployed stage does';
  const limits = Object.entries(throttles).map(([route, t]) => [route, `${t.rateLimit} requests/s, burst ${t.burstLimit}`]);
  const same = new Set(limits.map(([, l]) => l)).size === 1;
  const figures = same ? `${limits[0][1]}, each REST method apart` : limits.map(([route, l]) => `${route}: ${l}`).join('; ');
  return `${figures}, then 429 (as the stage deploys; --no-api-throttle: off)`;
}

/** Why local mode could not start, with what to do where the user can do something. */
function startError(err) {
  if (err.code === 'EADDRINUSE') return `port ${err.port} on ${err.address} is in use (another npm run local?): stop it, or choose another port with --port N (--port 0 takes a free one)`;
  if (err.code === 'EACCES' && err.syscall === 'listen') return `port ${err.port} needs privileges this user lacks: choose a port above 1023 with --port N`;
  if (err.name === 'DataDirInUseError') return `${err.message}: stop that one (kill ${err.pid}), or give this one another data dir with --data-dir DIR`;
  if (err.name === 'LocalDynamoError' && / is in use /.test(err.message)) return `${err.message}: stop it, or give this one another data dir with --data-dir DIR`;
  return err.message;
}
// `npm run reconcile` against local mode: the SDK's standard variables point it at the local
// DynamoDB and Step Functions. startLocalMode sets them in this process for the bundles; the
// credentials are placeholders (local mode checks none).
const { outputValue, readSynthesized, referenceResolver } = require(path.join(root, 'dist', 'app', 'local', 'config.js'));
const synthesized = readSynthesized(stackDir);
const tableName = outputValue(synthesized, referenceResolver(synthesized), 'run_requests_table_name');
const operatorEnv = Object.fromEntries(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SFN'].map((name) => [name, process.env[name]]));
const reconcileCommand = `${Object.entries(operatorEnv).map(([name, value]) => `${name}=${value}`).join(' ')} \\
    npm run reconcile -- --table-name ${tableName} --state-machine-arn ${local.stateMachineArn} --dry-run`;

if (args.json) {
  const { statusPageUrl, apiUrl, runRequestsUrl, websocketUrl, identity, apiThrottle, stateMachineArn, artifactsDir, jobLogsDir } = local;
  console.log(JSON.stringify({ pid: process.pid, statusPageUrl, apiUrl, runRequestsUrl, websocketUrl, identity, apiThrottle: apiThrottle ?? null, stateMachineArn, tableName, operatorEnv, artifactsDir, jobLogsDir }));
}

if (!args.json) console.log(`batch-gateway local mode (no AWS account, no credentials: every caller is ${local.identity})
  status page   ${local.statusPageUrl}
  REST API      ${local.apiUrl}   (POST ${local.runRequestsUrl}, GET ${local.runRequestsUrl}/{id})
  WebSocket     ${local.websocketUrl}?clientId=<id>
  data          ${dataDir}   (survives a restart)
  artifacts     ${path.join(local.artifactsDir, '<runRequestID>')}${path.sep}   (the barcode's PNG, a job's stored results)
  job output    ${path.join(local.jobLogsDir, '<jobId>.log')}   (the jobId: GET ${local.runRequestsUrl}/{id}; the status page links it)
  waits         scaled by ${waitScale}
  throttle      ${throttleLine(local.apiThrottle)}${identities ? `\n  callers       SigV4 (execute-api, us-east-1) verified for ${identities.length} identit${identities.length === 1 ? 'y' : 'ies'} of ${args.identities}; unsigned requests ${args['require-signature'] ? 'refused (403)' : `act as ${local.identity}`}` : ''}
Try:
  curl -s -X POST ${local.runRequestsUrl} -H 'content-type: application/json' -d '{"processname":"barcode","clientname":"me","parameters":{"text":"HELLO-123"}}'
Requests still ACCEPTED (docs/operations.md), in another terminal:
  ${reconcileCommand}
Ctrl-C (or kill ${process.pid}) stops everything.`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(() => console.log('\nstopping...')));
