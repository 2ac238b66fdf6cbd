/**
 * A DynamoDB-compatible server on this machine (dynalite), with a client for it. With a data dir,
 * tables live in LevelDB files under `<dataDir>/dynamodb` and survive a restart; without one, in
 * memory.
 *
 * dynalite stores on disk through `classic-level`, a native module. It ships prebuilt binaries,
 * so it loads although npm did not run its install script; where no prebuilt fits the platform it
 * does not load, and dynalite (which requires it even for in-memory tables) would not load either.
 * Then this module lets dynalite run in memory only and logs that state will not survive a restart.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  TableDescription,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { closeServer, listenLocally } from './listen';
import { LocalLog, LocalService } from './types';

/** A table to create, keyed by a string hash key; indexes are global, projecting all attributes. */
export interface LocalTable {
  readonly name: string;
  readonly hashKey: string;
  readonly indexes?: readonly { readonly name: string; readonly hashKey: string }[];
}

export interface LocalDynamoOptions {
  /**
   * Folder for the tables' files (in `<dataDir>/dynamodb`).
   * @default - in memory: everything is lost when the server stops
   */
  readonly dataDir?: string;
  /** @default - a free port */
  readonly port?: number;
  readonly log: LocalLog;
}

export interface LocalDynamo extends LocalService {
  /** `http://127.0.0.1:<port>`, for SDK clients (`endpoint`) and the local REST API. */
  readonly endpoint: string;
  /** A client of this server (fake credentials); destroyed by `close()`. */
  readonly client: DynamoDBClient;
  /** Whether tables survive a restart: a data dir was given and LevelDB could be used. */
  readonly persistent: boolean;
  /** Creates the tables that do not exist yet, adds missing indexes, and waits until all are ACTIVE. */
  ensureTables(tables: readonly LocalTable[]): Promise<void>;
}

/** The local DynamoDB cannot start or cannot hold the tables asked for. */
export class LocalDynamoError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalDynamoError';
  }
}

/** dynalite's region; the client must sign for some region, and dynalite does not check which. */
const LOCAL_REGION = 'us-east-1';
const FAKE_CREDENTIALS = { accessKeyId: 'LOCAL', secretAccessKey: 'local-secret' };
const TABLE_ACTIVE_TIMEOUT_MS = 10_000;

export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const { log } = options;
  const engine = loadDynalite();
  let dbPath: string | undefined;
  if (options.dataDir !== undefined) {
    if (engine.diskUnavailable) {
      log('dynamodb.persistence-unavailable', {
        level: 'warn',
        dataDir: options.dataDir,
        reason: engine.diskUnavailable.message,
        message: 'classic-level (LevelDB) did not load: tables are kept in memory and will NOT survive a restart',
      });
    } else {
      dbPath = path.join(options.dataDir, 'dynamodb');
      mkdirSync(dbPath, { recursive: true });
      await assertDataDirUsable(engine.classicLevel!, dbPath);
    }
  }

  // Tables are ACTIVE at once: nothing local waits for provisioning.
  const server = engine.dynalite({ path: dbPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listenLocally(server, options.port);
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
  log('dynamodb.started', { endpoint, dataDir: dbPath, persistent: dbPath !== undefined });

  let closing: Promise<void> | undefined;
  return {
    url: endpoint,
    endpoint,
    client,
    persistent: dbPath !== undefined,
    ensureTables: (tables) => ensureTables(client, tables, log),
    close() {
      closing ??= (async () => {
        client.destroy();
        // dynalite's close waits for pending writes, then closes LevelDB (and releases its lock).
        await closeServer(server, 'idle');
        log('dynamodb.stopped', { endpoint });
      })();
      return closing;
    },
  };
}

async function ensureTables(client: DynamoDBClient, tables: readonly LocalTable[], log: LocalLog): Promise<void> {
  for (const table of tables) {
    const existing = await describe(client, table.name);
    if (!existing) {
      await client.send(
        new CreateTableCommand({
          TableName: table.name,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: table.hashKey, KeyType: 'HASH' }],
          AttributeDefinitions: attributeDefinitions([table.hashKey, ...(table.indexes ?? []).map((i) => i.hashKey)]),
          GlobalSecondaryIndexes: table.indexes?.length
            ? table.indexes.map((index) => ({
                IndexName: index.name,
                KeySchema: [{ AttributeName: index.hashKey, KeyType: 'HASH' as const }],
                Projection: { ProjectionType: 'ALL' as const },
              }))
            : undefined,
        }),
      );
      log('dynamodb.table-created', { table: table.name });
    } else {
      const hashKey = existing.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (hashKey !== table.hashKey) {
        throw new LocalDynamoError(
          `table ${table.name} has hash key '${hashKey}', expected '${table.hashKey}' (left in the data dir by an older configuration?): remove the data dir to start afresh`,
        );
      }
      const present = new Set((existing.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
      for (const index of table.indexes ?? []) {
        if (present.has(index.name)) continue;
        await client.send(
          new UpdateTableCommand({
            TableName: table.name,
            AttributeDefinitions: attributeDefinitions([index.hashKey]),
            GlobalSecondaryIndexUpdates: [
              {
                Create: {
                  IndexName: index.name,
                  KeySchema: [{ AttributeName: index.hashKey, KeyType: 'HASH' }],
                  Projection: { ProjectionType: 'ALL' },
                  // dynalite requires a throughput on an index create even for an on-demand table.
                  ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
                },
              },
            ],
          }),
        );
        log('dynamodb.index-created', { table: table.name, index: index.name });
      }
    }
    await waitUntilActive(client, table.name);
  }
}

function attributeDefinitions(names: readonly string[]) {
  return [...new Set(names)].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const }));
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** With createTableMs 0 a table turns ACTIVE on dynalite's next timer tick; poll briefly. */
async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const table = await describe(client, tableName);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new LocalDynamoError(`table ${tableName} is not ACTIVE after ${TABLE_ACTIVE_TIMEOUT_MS} ms (status ${table?.TableStatus})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---------------------------------------------------------------------------------------------
// Loading dynalite
// ---------------------------------------------------------------------------------------------

interface DynaliteServer extends Server {
  close(callback?: (error?: Error) => void): this;
}
type Dynalite = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => DynaliteServer;
interface ClassicLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}
type ClassicLevelClass = new (location: string) => ClassicLevelDb;

interface DynaliteEngine {
  readonly dynalite: Dynalite;
  /** The LevelDB class dynalite itself uses for `path`, when it loaded. */
  readonly classicLevel?: ClassicLevelClass;
  /** Why tables cannot be stored on disk, when they cannot. */
  readonly diskUnavailable?: Error;
}

let engine: DynaliteEngine | undefined;

function loadDynalite(): DynaliteEngine {
  if (engine) return engine;
  // Resolved from dynalite's own folder: exactly the copies dynalite uses (neither is a direct dependency).
  const levelPath = require.resolve('level', { paths: [path.dirname(require.resolve('dynalite'))] });
  const classicLevelPath = require.resolve('classic-level', { paths: [path.dirname(levelPath)] });
  try {
    const classicLevel = (require(classicLevelPath) as { ClassicLevel: ClassicLevelClass }).ClassicLevel;
    engine = { dynalite: require('dynalite') as Dynalite, classicLevel };
  } catch (error) {
    // dynalite requires `level` at load time even when it keeps tables in memory (memory-level):
    // stand in a `level` it never constructs, since it is only used with a path, and no path is given.
    const unavailable = () => {
      throw new LocalDynamoError('LevelDB is unavailable: classic-level did not load', { cause: error });
    };
    require.cache[levelPath] = { id: levelPath, filename: levelPath, loaded: true, exports: { Level: unavailable } } as unknown as NodeJS.Module;
    engine = { dynalite: require('dynalite') as Dynalite, diskUnavailable: error as Error };
  }
  return engine;
}

/**
 * Opens and closes the LevelDB once before dynalite does: dynalite surfaces a failed open (most
 * often the lock held by another local run on the same data dir) as an uncaught exception on
 * the first request, which would end the process.
 */
async function assertDataDirUsable(ClassicLevel: ClassicLevelClass, dbPath: string): Promise<void> {
  const db = new ClassicLevel(dbPath);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: Error }).cause ?? (error as Error);
    const locked = /lock/i.test(String(cause.message));
    throw new LocalDynamoError(
      locked
        ? `the DynamoDB data dir ${dbPath} is in use by another process (is another local run using the same data dir?)`
        : `cannot open the DynamoDB data dir ${dbPath}: ${cause.message}`,
      { cause: error },
    );
  }
  await db.close();
}
