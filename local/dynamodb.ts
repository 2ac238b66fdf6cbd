/**
 * A DynamoDB-compatible server on this machine (dynalite, on a worker thread of its own:
 * `dynamodb-worker.cjs`), with a client for it. With a data dir, tables live in LevelDB files
 * under `<dataDir>/dynamodb` and survive a restart; without one, in memory.
 *
 * dynalite stores on disk through `classic-level`, a native module. It ships prebuilt binaries,
 * so it loads although npm did not run its install script; where no prebuilt fits the platform,
 * dynalite runs in memory only and this module logs that state will not survive a restart.
 */
import { once } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  TableDescription,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
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

/** What the worker posts: see `dynamodb-worker.cjs`. */
type WorkerMessage =
  | { readonly type: 'started'; readonly port: number; readonly dbPath?: string; readonly diskUnavailable?: string }
  | { readonly type: 'failed'; readonly reason: 'locked' | 'unusable' | 'listen' | 'start'; readonly message: string; readonly dbPath?: string };

const WORKER = path.join(__dirname, 'dynamodb-worker.cjs');
/** How long close() waits for dynalite to finish its writes before it stops the thread. */
const CLOSE_TIMEOUT_MS = 10_000;

export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const { log } = options;
  const worker = new Worker(WORKER, { workerData: { dataDir: options.dataDir, port: options.port ?? 0 } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const [started] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error))])) as [WorkerMessage];
  if (started.type === 'failed') {
    await worker.terminate();
    if (started.reason === 'locked') {
      throw new LocalDynamoError(`the DynamoDB data dir ${started.dbPath} is in use by another process (is another local run using the same data dir?)`);
    }
    if (started.reason === 'unusable') throw new LocalDynamoError(`cannot open the DynamoDB data dir ${started.dbPath}: ${started.message}`);
    throw new LocalDynamoError(`the local DynamoDB could not start: ${started.message}`);
  }
  if (options.dataDir !== undefined && started.diskUnavailable !== undefined) {
    log('dynamodb.persistence-unavailable', {
      level: 'warn',
      dataDir: options.dataDir,
      reason: started.diskUnavailable,
      message: 'classic-level (LevelDB) did not load: tables are kept in memory and will NOT survive a restart',
    });
  }
  // dynalite failing after start (a LevelDB error) ends its thread: every later request is refused, and said why here.
  worker.on('error', (error) => log('dynamodb.failed', { level: 'error', error: error.message }));

  const endpoint = `http://127.0.0.1:${started.port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
  log('dynamodb.started', { endpoint, dataDir: started.dbPath, persistent: started.dbPath !== undefined });

  let closing: Promise<void> | undefined;
  return {
    url: endpoint,
    endpoint,
    client,
    persistent: started.dbPath !== undefined,
    ensureTables: (tables) => ensureTables(client, tables, log),
    close() {
      closing ??= (async () => {
        client.destroy();
        // dynalite's close lets requests in progress finish, then closes LevelDB (and releases its lock).
        worker.postMessage({ type: 'close' });
        const timeout = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
        await exited;
        clearTimeout(timeout);
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
