/**
 * The local DynamoDB (dynalite on a worker thread): one data dir serves one instance at a time,
 * a clear error says so, and close() releases it for the next.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LocalDynamo, LocalDynamoError, startLocalDynamo } from '../../local/dynamodb';
import { LocalLog } from '../../local/types';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'local-dynamodb-'));
const log: LocalLog = () => undefined;
const started: LocalDynamo[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.close()));
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('refuses a data dir another instance holds, saying so, and serves it once that one is closed', async () => {
  // Prepare
  const first = await startLocalDynamo({ dataDir, log });
  started.push(first);
  await first.ensureTables([{ name: 'kept', hashKey: 'id' }]);
  if (!first.persistent) return; // No LevelDB on this machine: nothing is held.

  // Act
  const refused = startLocalDynamo({ dataDir, log });

  // Assess
  await expect(refused).rejects.toThrow(LocalDynamoError);
  await expect(refused).rejects.toThrow(/data dir .* is in use by another process/);
  await first.close();
  const second = await startLocalDynamo({ dataDir, log });
  started.push(second);
  expect((await second.client.send(new ListTablesCommand({}))).TableNames).toEqual(['kept']);
});

it('keeps tables in memory without a data dir', async () => {
  // Act
  const memory = await startLocalDynamo({ log });
  started.push(memory);
  await memory.ensureTables([{ name: 'scratch', hashKey: 'id' }]);

  // Assess
  expect(memory.persistent).toBe(false);
  expect((await memory.client.send(new ListTablesCommand({}))).TableNames).toEqual(['scratch']);
});

it('refuses a data dir it cannot make, naming the folder', async () => {
  // Prepare: a file where the data dir's folder should be.
  const blocked = path.join(dataDir, 'a-file');
  writeFileSync(blocked, '');

  // Act
  const refused = startLocalDynamo({ dataDir: blocked, log });

  // Assess
  await expect(refused).rejects.toThrow(LocalDynamoError);
  await expect(refused).rejects.toThrow(`cannot open the DynamoDB data dir ${path.join(blocked, 'dynamodb')}: `);
});
