/**
 * reconcile against a real local DynamoDB (dynalite) holding run requests in every status, with
 * Step Functions mocked.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunRequest } from '../../contract';
import { executionNameFor } from '../../lambdas/start-execution/core';
import { UsageError } from '../../scripts/lib/operator-cli';
import { reconcile, reconcileOptionsFromArgs, runReconcileCli, type ReconcileClients, type ReconcileOptions } from '../../scripts/lib/reconcile';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const TABLE_NAME = 'run-requests-reconcile-test';
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:batch-gateway-run';
const NOW = Date.parse('2024-06-10T12:00:00Z');
const MINUTE = 60_000;

/** A run request as the API writes it, received `minutesAgo` before {@link NOW}. */
function accepted(runRequestID: string, minutesAgo: number, extra: Partial<RunRequest> = {}): RunRequest {
  const receivedAtEpochMs = NOW - minutesAgo * MINUTE;
  return {
    runRequestID,
    processname: 'nightly-report',
    clientname: 'acme-finance',
    callerIdentity: 'arn:aws:iam::123456789012:role/acme-scheduler',
    status: 'ACCEPTED',
    receivedAt: new Date(receivedAtEpochMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    receivedAtEpochMs,
    ...extra,
  };
}

/** A request the orchestration has moved on: what record-status adds to the item. */
function movedOn(runRequestID: string, minutesAgo: number, status: string): Json {
  return {
    ...accepted(runRequestID, minutesAgo),
    status,
    statusProgress: status === 'SUBMITTED' ? 1 : 1_000_000,
    jobId: `job-${runRequestID.slice(0, 8)}`,
    updatedAt: new Date(NOW - MINUTE).toISOString(),
    statusHistory: [{ status, at: new Date(NOW - MINUTE).toISOString() }],
  };
}

/** Still ACCEPTED and older than 15 minutes: what reconcile must start. */
const LOST = [
  accepted('0f8fad5b-d9cb-469f-a165-70867728950e', 180, {
    timestamp: '2024-06-10T08:00:00+02:00',
    parameters: { reportDate: '2024-06-09', region: 'eu-west-1' },
    clientId: 'acme-finance-notifier',
  }),
  accepted('7c9e6679-7425-40de-944b-e07fc1f90ae7', 16, { processname: 'reindex-catalog', clientname: 'acme-shop', callerIdentity: 'apikey:k7x2m9q4p1' }),
  // Not a valid execution name as it is: the name is derived exactly as start-execution derives it.
  accepted('client a/run 1', 60 * 30),
];
/** Still ACCEPTED and old, but its execution exists (it failed before recording any status). */
const ALREADY_STARTED = accepted('16fd2706-8baf-433b-82eb-8c7fada847da', 240);
const ITEMS: Json[] = [
  ...LOST,
  ALREADY_STARTED,
  accepted('a3bb189e-8bf9-3888-9912-ace4e6543002', 5), // young: still the stream's to start
  accepted('b6e2a1f0-3c9d-4e8b-a7f6-5d4c3b2a1f0e', 15), // exactly the age: not older than it
  movedOn('9a1b7c3e-2f4d-4e6a-8b0c-1d2e3f4a5b6c', 120, 'SUBMITTED'),
  movedOn('c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f', 200, 'RUNNING'),
  movedOn('d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a', 300, 'SUCCEEDED'),
  movedOn('e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9', 90, 'REJECTED'),
  movedOn('f0e1d2c3-b4a5-4968-8776-655443322110', 600, 'FAILED'),
];

let server: import('node:http').Server;
let endpoint: string;
let dynamodb: DynamoDBClient;
const sfnMock = mockClient(SFNClient);
let clients: ReconcileClients;
const options: ReconcileOptions = { tableName: TABLE_NAME, stateMachineArn: STATE_MACHINE_ARN, now: () => NOW };

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dynamodb = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  clients = { dynamodb, sfn: new SFNClient({}) };
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE_NAME,
      KeySchema: [{ AttributeName: 'runRequestID', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'runRequestID', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (const item of ITEMS) {
    await dynamodb.send(new PutItemCommand({ TableName: TABLE_NAME, Item: marshall(item) }));
  }
});

afterAll(async () => {
  dynamodb.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => {
    if (input.name === ALREADY_STARTED.runRequestID) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${input.name}'`, $metadata: { httpStatusCode: 400 } });
    }
    return { executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date(NOW) };
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** The StartExecution inputs sent, with `input` parsed, ordered by name. */
function startedInputs(): Json[] {
  return sfnMock
    .commandCalls(StartExecutionCommand)
    .map((call) => ({ ...call.args[0].input, input: JSON.parse(call.args[0].input.input!) }))
    .sort((a: Json, b: Json) => a.name.localeCompare(b.name));
}

/** What start-execution would have sent for each request: its derived name, the whole item as input. */
function expectedStarts(requests: RunRequest[]): Json[] {
  return requests
    .map((request) => ({ stateMachineArn: STATE_MACHINE_ARN, name: executionNameFor(request.runRequestID), input: request }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

describe('reconcile', () => {
  test('starts only the old ACCEPTED requests, with start-execution\'s names and inputs; an existing execution counts as alreadyStarted', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const summary = await reconcile(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toEqual({ scanned: ITEMS.length, candidates: 4, started: 3, alreadyStarted: 1, failed: 0 });
    expect(startedInputs()).toEqual(expectedStarts([...LOST, ALREADY_STARTED]));
    expect(executionNameFor('client a/run 1')).toMatch(/^client_a_run_1-[0-9a-f]{12}$/);
    expect(lines.sort()).toEqual(
      [
        `0f8fad5b-d9cb-469f-a165-70867728950e (nightly-report, received 2024-06-10T09:00:00Z, 180 min ago): started ${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:0f8fad5b-d9cb-469f-a165-70867728950e`,
        `16fd2706-8baf-433b-82eb-8c7fada847da (nightly-report, received 2024-06-10T08:00:00Z, 240 min ago): execution 16fd2706-8baf-433b-82eb-8c7fada847da already exists`,
        `7c9e6679-7425-40de-944b-e07fc1f90ae7 (reindex-catalog, received 2024-06-10T11:44:00Z, 16 min ago): started ${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:7c9e6679-7425-40de-944b-e07fc1f90ae7`,
        `client a/run 1 (nightly-report, received 2024-06-09T06:00:00Z, 1800 min ago): started ${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${executionNameFor('client a/run 1')}`,
      ].sort(),
    );
  });

  test('reads the table page by page with a small Limit, and starts each candidate once', async () => {
    // Prepare
    const send = jest.spyOn(dynamodb, 'send');
    const lines: string[] = [];

    // Act
    const summary = await reconcile(clients, { ...options, pageSize: 2 }, (line) => lines.push(line));

    // Assess
    const scans = send.mock.calls.map(([command]) => command).filter((command) => command instanceof ScanCommand) as ScanCommand[];
    expect(scans.length).toBeGreaterThanOrEqual(Math.ceil(ITEMS.length / 2));
    expect(scans[0].input).toMatchObject({
      TableName: TABLE_NAME,
      Limit: 2,
      FilterExpression: '#status = :accepted AND #receivedAtEpochMs < :cutoff',
      ExpressionAttributeValues: { ':accepted': { S: 'ACCEPTED' }, ':cutoff': { N: String(NOW - 15 * MINUTE) } },
    });
    expect(scans[0].input.ExclusiveStartKey).toBeUndefined();
    expect(scans[1].input.ExclusiveStartKey).toBeDefined();
    expect(summary).toEqual({ scanned: ITEMS.length, candidates: 4, started: 3, alreadyStarted: 1, failed: 0 });
    expect(startedInputs()).toEqual(expectedStarts([...LOST, ALREADY_STARTED]));
    expect(lines.filter((line) => line.startsWith('page '))).toHaveLength(scans.length - 1);
  });

  test('a larger --older-than-minutes leaves the younger requests alone', async () => {
    // Act
    const summary = await reconcile(clients, { ...options, olderThanMinutes: 200 });

    // Assess
    expect(summary).toEqual({ scanned: ITEMS.length, candidates: 2, started: 1, alreadyStarted: 1, failed: 0 });
    expect(startedInputs().map((start) => start.input.runRequestID).sort()).toEqual(['16fd2706-8baf-433b-82eb-8c7fada847da', 'client a/run 1']);
  });

  test('in a dry run, lists the candidates and starts nothing', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const summary = await reconcile(clients, { ...options, dryRun: true }, (line) => lines.push(line));

    // Assess
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(summary).toEqual({ scanned: ITEMS.length, candidates: 4, started: 0, alreadyStarted: 0, failed: 0 });
    expect(lines.sort()).toEqual(
      [
        '0f8fad5b-d9cb-469f-a165-70867728950e (nightly-report, received 2024-06-10T09:00:00Z, 180 min ago): would start execution 0f8fad5b-d9cb-469f-a165-70867728950e',
        '16fd2706-8baf-433b-82eb-8c7fada847da (nightly-report, received 2024-06-10T08:00:00Z, 240 min ago): would start execution 16fd2706-8baf-433b-82eb-8c7fada847da',
        '7c9e6679-7425-40de-944b-e07fc1f90ae7 (reindex-catalog, received 2024-06-10T11:44:00Z, 16 min ago): would start execution 7c9e6679-7425-40de-944b-e07fc1f90ae7',
        `client a/run 1 (nightly-report, received 2024-06-09T06:00:00Z, 1800 min ago): would start execution ${executionNameFor('client a/run 1')}`,
      ].sort(),
    );
  });

  test('the CLI, with default clients pointed at the local table: counts a throttled start as failed and exits with 2', async () => {
    // Prepare
    jest.spyOn(Date, 'now').mockReturnValue(NOW);
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    sfnMock.on(StartExecutionCommand, { name: LOST[1].runRequestID }).rejects(
      new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400, attempts: 3 } }),
    );
    const out: string[] = [];

    // Act
    let code: number;
    try {
      code = await runReconcileCli(['--table-name', TABLE_NAME, '--state-machine-arn', STATE_MACHINE_ARN], (l) => out.push(l), (l) => out.push(l));
    } finally {
      process.env = saved;
    }

    // Assess
    expect(code).toBe(2);
    expect(out).toContain('7c9e6679-7425-40de-944b-e07fc1f90ae7 (reindex-catalog, received 2024-06-10T11:44:00Z, 16 min ago): FAILED ThrottlingException: Rate exceeded');
    expect(out[out.length - 1]).toBe(`{"scanned":${ITEMS.length},"candidates":4,"started":2,"alreadyStarted":1,"failed":1}`);
  });
});

describe('reconcileOptionsFromArgs', () => {
  test('reads every option, with the 15-minute default', () => {
    // Act & Assess
    expect(reconcileOptionsFromArgs(['--table-name', TABLE_NAME, '--state-machine-arn', STATE_MACHINE_ARN, '--dry-run'])).toEqual({
      tableName: TABLE_NAME,
      stateMachineArn: STATE_MACHINE_ARN,
      olderThanMinutes: 15,
      dryRun: true,
    });
  });

  test.each([
    ['a missing --table-name', ['--state-machine-arn', STATE_MACHINE_ARN], '--table-name is required'],
    ['--older-than-minutes 0', ['--table-name', 't', '--state-machine-arn', STATE_MACHINE_ARN, '--older-than-minutes', '0'], "--older-than-minutes must be a whole number from 1 to 525600 (got '0')"],
    ['--older-than-minutes -5', ['--table-name', 't', '--state-machine-arn', STATE_MACHINE_ARN, '--older-than-minutes=-5'], "--older-than-minutes must be a whole number from 1 to 525600 (got '-5')"],
  ])('rejects %s', (_label, args, message) => {
    // Act & Assess
    expect(() => reconcileOptionsFromArgs(args)).toThrow(UsageError);
    expect(() => reconcileOptionsFromArgs(args)).toThrow(message);
  });
});
