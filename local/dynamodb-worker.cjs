'use strict';
/**
 * dynalite on a thread of its own, for local/dynamodb.ts (plain CommonJS: the worker loads it as
 * is, from the sources in tests and from dist/ in local mode). During a burst the DynamoDB engine
 * took about a fifth of local mode's event loop; here it runs beside it, on another core.
 *
 * workerData: { dataDir?: string, port: number }. Posts { type: 'started', port, dbPath?,
 * diskUnavailable? } or { type: 'failed', reason, message, dbPath? }; on { type: 'close' } closes
 * the server (dynalite then closes LevelDB, releasing its lock) and ends the thread.
 */
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

/**
 * dynalite and the LevelDB class it uses for a path. classic-level is a native module with
 * prebuilt binaries; where none fits the platform it does not load, and dynalite (which requires
 * `level` even for in-memory tables) would not load either: then a stand-in `level` that is never
 * constructed (no path is given) lets dynalite keep its tables in memory.
 */
function loadDynalite() {
  // Resolved from dynalite's own folder: exactly the copies dynalite uses (neither is a direct dependency).
  const levelPath = require.resolve('level', { paths: [path.dirname(require.resolve('dynalite'))] });
  const classicLevelPath = require.resolve('classic-level', { paths: [path.dirname(levelPath)] });
  try {
    const { ClassicLevel } = require(classicLevelPath);
    return { dynalite: require('dynalite'), ClassicLevel };
  } catch (error) {
    const unavailable = () => {
      throw new Error('LevelDB is unavailable: classic-level did not load', { cause: error });
    };
    require.cache[levelPath] = { id: levelPath, filename: levelPath, loaded: true, exports: { Level: unavailable } };
    return { dynalite: require('dynalite'), diskUnavailable: error };
  }
}

class StartError extends Error {
  constructor(reason, message, dbPath) {
    super(message);
    this.reason = reason;
    this.dbPath = dbPath;
  }
}

/**
 * Opens and closes the LevelDB once before dynalite does: dynalite surfaces a failed open (most
 * often the lock held by another local run on the same data dir) as an uncaught exception on the
 * first request.
 */
async function assertDataDirUsable(ClassicLevel, dbPath) {
  const db = new ClassicLevel(dbPath);
  try {
    await db.open();
  } catch (error) {
    const cause = error.cause ?? error;
    throw new StartError(/lock/i.test(String(cause.message)) ? 'locked' : 'unusable', cause.message, dbPath);
  }
  await db.close();
}

async function start() {
  const engine = loadDynalite();
  let dbPath;
  if (workerData.dataDir !== undefined && !engine.diskUnavailable) {
    dbPath = path.join(workerData.dataDir, 'dynamodb');
    mkdirSync(dbPath, { recursive: true });
    await assertDataDirUsable(engine.ClassicLevel, dbPath);
  }
  // Tables are ACTIVE at once: nothing local waits for provisioning.
  const server = engine.dynalite({ path: dbPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new StartError('listen', error.message)));
    server.listen(workerData.port, '127.0.0.1', resolve);
  });
  parentPort.on('message', (message) => {
    if (message?.type !== 'close') return;
    server.close(() => parentPort.close());
    server.closeIdleConnections();
  });
  parentPort.postMessage({ type: 'started', port: server.address().port, dbPath, diskUnavailable: engine.diskUnavailable?.message });
}

start().catch((error) => {
  // Anything else that fails before the server listens (creating the folder, loading dynalite).
  const reason = error.reason ?? (workerData.dataDir !== undefined ? 'unusable' : 'start');
  const dbPath = error.dbPath ?? (workerData.dataDir !== undefined ? path.join(workerData.dataDir, 'dynamodb') : undefined);
  parentPort.postMessage({ type: 'failed', reason, message: error.message, dbPath });
  parentPort.close();
});
