import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-dynamodb-streams';
import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunRequest } from '../../contract';
import { UsageError } from '../../scripts/lib/operator-cli';
import {
  parseFailureRecord,
  redrive,
  redriveOptionsFromArgs,
  runRedriveCli,
  tableNameOfStream,
  type RedriveClients,
  type RedriveOptions,
} from '../../scripts/lib/redrive';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'redrive');
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/batch-gateway-trigger-dead-letters';
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:batch-gateway-run';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A fresh copy of a fixture each time, so a test can change it freely. */
function fixture(name: string): Json {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** The three run requests inserted within the failed batch, in stream order. */
const RUN_REQUESTS = fixture('run-requests.json') as RunRequest[];
/** Inserted after the batch's last sequence number: never part of this redrive. */
const LATER_REQUEST_ID = 'b6e2a1f0-3c9d-4e8b-a7f6-5d4c3b2a1f0e';

/** A GetRecords page as the SDK returns it: the wire JSON, with creation times deserialized to Dates. */
function sdkPage(page: Json): GetRecordsCommandOutput {
  for (const record of page.Records ?? []) {
    record.dynamodb.ApproximateCreationDateTime = new Date(record.dynamodb.ApproximateCreationDateTime * 1000);
  }
  return { ...page, $metadata: {} };
}

/** An SQS message of the on-failure queue carrying `body` (the on-failure record by default). */
function sqsMessage(id: string, body: Json = fixture('on-failure-record.json')): Message {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { MessageId: id, ReceiptHandle: `AQEB${id}-receipt`, MD5OfBody: 'ignored-by-the-tool', Body: text };
}

function executionArnFor(name: string): string {
  return `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** What the SDK throws once its standard retries are exhausted on a throttled call. */
function throttlingError(): SFNServiceException {
  return new SFNServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    message: 'Rate exceeded',
    $metadata: { httpStatusCode: 400, attempts: 3, totalRetryDelay: 1_200 },
  });
}

function alreadyExists(name: string): ExecutionAlreadyExists {
  return new ExecutionAlreadyExists({ message: `Execution Already Exists: '${executionArnFor(name)}'`, $metadata: { httpStatusCode: 400 } });
}

const sqsMock = mockClient(SQSClient);
const streamsMock = mockClient(DynamoDBStreamsClient);
const sfnMock = mockClient(SFNClient);
const clients: RedriveClients = { sqs: new SQSClient({}), streams: new DynamoDBStreamsClient({}), sfn: new SFNClient({}) };
const options: RedriveOptions = { queueUrl: QUEUE_URL, stateMachineArn: STATE_MACHINE_ARN, waitTimeSeconds: 0 };

const ITERATOR_1 = fixture('get-shard-iterator.json').ShardIterator as string;
const ITERATOR_2 = fixture('get-records-page-1.json').NextShardIterator as string;

/** The queue returns `messages` once, then nothing. */
function queueHolds(...messages: Message[]): void {
  sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({});
}

/** The shard: page 1 at the iterator GetShardIterator returns, page 2 at page 1's next iterator. */
function shardHolds(page1: Json = fixture('get-records-page-1.json'), page2: Json = fixture('get-records-page-2.json')): void {
  streamsMock.on(GetShardIteratorCommand).resolves(fixture('get-shard-iterator.json'));
  streamsMock.on(GetRecordsCommand, { ShardIterator: ITERATOR_1 }).resolves(sdkPage(page1));
  streamsMock.on(GetRecordsCommand, { ShardIterator: ITERATOR_2 }).resolves(sdkPage(page2));
}

/** The StartExecution inputs sent, with `input` parsed, in call order. */
function startedInputs(): Json[] {
  return sfnMock.commandCalls(StartExecutionCommand).map((call) => ({ ...call.args[0].input, input: JSON.parse(call.args[0].input.input!) }));
}

function expectedStart(runRequest: RunRequest): Json {
  return { stateMachineArn: STATE_MACHINE_ARN, name: runRequest.runRequestID, input: runRequest };
}

beforeEach(() => {
  sqsMock.reset();
  streamsMock.reset();
  sfnMock.reset();
  sqsMock.on(DeleteMessageCommand).resolves({});
  sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => ({
    executionArn: executionArnFor(input.name!),
    startDate: new Date('2024-06-10T07:00:00Z'),
  }));
});

describe('redrive', () => {
  test('starts every INSERT of the batch, read back across two pages, with start-execution\'s names and inputs, then deletes the message', async () => {
    // Prepare
    queueHolds(sqsMessage('5f1c9a7e-0b3d-4c2a-9e8f-7a6b5c4d3e2f'));
    shardHolds();
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toEqual({ messages: 1, records: 5, started: 3, alreadyStarted: 0, skipped: 2, failed: 0, deleted: 1, unreadable: 0 });
    expect(streamsMock.commandCalls(GetShardIteratorCommand).map((c) => c.args[0].input)).toEqual([
      {
        StreamArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/batch-gateway-run-requests/stream/2024-06-01T00:00:00.000',
        ShardId: 'shardId-00000001717999200000-4c8e2f1a',
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: '4421584500000000017450439091',
      },
    ]);
    // Reading stops at the batch's last record: no third page, and the later INSERT is not started.
    expect(streamsMock.commandCalls(GetRecordsCommand)).toHaveLength(2);
    expect(startedInputs()).toEqual(RUN_REQUESTS.map(expectedStart));
    expect(startedInputs().map((i) => i.name)).not.toContain(LATER_REQUEST_ID);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'AQEB5f1c9a7e-0b3d-4c2a-9e8f-7a6b5c4d3e2f-receipt' },
    ]);
    expect(lines).toEqual([
      'message 5f1c9a7e-0b3d-4c2a-9e8f-7a6b5c4d3e2f (RetryAttemptsExhausted): 5 records, ' +
        'started 3 [0f8fad5b-d9cb-469f-a165-70867728950e, 7c9e6679-7425-40de-944b-e07fc1f90ae7, 16fd2706-8baf-433b-82eb-8c7fada847da], ' +
        'already started 0, skipped 2, failed 0 -> deleted',
    ]);
  });

  test('counts a replayed message whose runs already started as alreadyStarted, and deletes it', async () => {
    // Prepare
    queueHolds(sqsMessage('replayed-1'));
    shardHolds();
    sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => {
      throw alreadyExists(input.name!);
    });

    // Act
    const summary = await redrive(clients, options);

    // Assess
    expect(summary).toEqual({ messages: 1, records: 5, started: 0, alreadyStarted: 3, skipped: 2, failed: 0, deleted: 1, unreadable: 0 });
    expect(startedInputs()).toEqual(RUN_REQUESTS.map(expectedStart));
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(1);
  });

  test('keeps the message when one record cannot be started (throttled after the SDK\'s retries), and starts the others', async () => {
    // Prepare
    queueHolds(sqsMessage('throttled-1'));
    shardHolds();
    sfnMock.on(StartExecutionCommand, { name: RUN_REQUESTS[1].runRequestID }).rejects(throttlingError());
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toEqual({ messages: 1, records: 5, started: 2, alreadyStarted: 0, skipped: 2, failed: 1, deleted: 0, unreadable: 0 });
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(lines[0]).toContain('failed 1 -> kept: 1 of 5 records not started (7c9e6679-7425-40de-944b-e07fc1f90ae7: ThrottlingException: Rate exceeded)');
    expect(lines[0]).toContain('the message returns after its visibility timeout');
  });

  test.each([
    ['GetShardIterator', 'TrimmedDataAccessException', () => streamsMock.on(GetShardIteratorCommand).rejects(new TrimmedDataAccessException({ message: 'Attempted to access data that has been trimmed from the stream', $metadata: { httpStatusCode: 400 } }))],
    ['GetRecords', 'ExpiredIteratorException', () => {
      streamsMock.on(GetShardIteratorCommand).resolves(fixture('get-shard-iterator.json'));
      streamsMock.on(GetRecordsCommand).rejects(new ExpiredIteratorException({ message: 'Iterator expired', $metadata: { httpStatusCode: 400 } }));
    }],
  ])('keeps the message and points to reconcile when %s says %s', async (_call, errorName, setUp) => {
    // Prepare
    queueHolds(sqsMessage('trimmed-1'));
    setUp();
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toEqual({ messages: 1, records: 0, started: 0, alreadyStarted: 0, skipped: 0, failed: 0, deleted: 0, unreadable: 1 });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(lines).toEqual([
      `message trimmed-1 (RetryAttemptsExhausted): kept: shardId-00000001717999200000-4c8e2f1a 4421584500000000017450439091..4421584900000000017450439095: ` +
        `the stream no longer holds these records (${errorName}; a stream keeps records 24 hours): ` +
        'run `npm run reconcile` to start any request of this batch that is still ACCEPTED',
    ]);
  });

  test('reads to the end of a closed shard whose last record ends the batch', async () => {
    // Prepare
    queueHolds(sqsMessage('closed-shard-1'));
    const page2 = fixture('get-records-page-2.json');
    page2.Records = page2.Records.filter((r: Json) => r.dynamodb.Keys.runRequestID.S !== LATER_REQUEST_ID);
    delete page2.NextShardIterator;
    shardHolds(undefined, page2);

    // Act
    const summary = await redrive(clients, options);

    // Assess
    expect(summary).toMatchObject({ records: 5, started: 3, skipped: 2, deleted: 1 });
    expect(streamsMock.commandCalls(GetRecordsCommand)).toHaveLength(2);
  });

  test('keeps the message when the shard ends before the batch\'s last record', async () => {
    // Prepare
    const body = fixture('on-failure-record.json');
    body.DDBStreamBatchInfo.endSequenceNumber = '4421585100000000017450439097';
    queueHolds(sqsMessage('short-shard-1', body));
    const page2 = fixture('get-records-page-2.json');
    delete page2.NextShardIterator;
    shardHolds(undefined, page2);
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toMatchObject({ messages: 1, started: 0, deleted: 0 });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(lines[0]).toContain('kept: IncompleteBatchError: shardId-00000001717999200000-4c8e2f1a 4421584500000000017450439091..4421585100000000017450439097: the shard ended before endSequenceNumber (6 records read)');
  });

  test('stops reading an open shard after ten empty pages in a row, and keeps the message', async () => {
    // Prepare
    queueHolds(sqsMessage('quiet-shard-1'));
    streamsMock.on(GetShardIteratorCommand).resolves(fixture('get-shard-iterator.json'));
    streamsMock.on(GetRecordsCommand).resolves({ Records: [], NextShardIterator: 'next-iterator' });
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(streamsMock.commandCalls(GetRecordsCommand)).toHaveLength(10);
    expect(summary).toMatchObject({ messages: 1, deleted: 0 });
    expect(lines[0]).toContain('10 empty pages in a row before the end of the batch (0 records read)');
  });

  test('in a dry run, reads and lists the batch but starts and deletes nothing', async () => {
    // Prepare
    queueHolds(sqsMessage('5f1c9a7e-0b3d-4c2a-9e8f-7a6b5c4d3e2f'));
    shardHolds();
    const out: string[] = [];

    // Act
    const code = await runRedriveCli(['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN, '--dry-run'], (l) => out.push(l), (l) => out.push(l));

    // Assess
    expect(code).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(out).toEqual([
      'dry run: nothing is started or deleted',
      'message 5f1c9a7e-0b3d-4c2a-9e8f-7a6b5c4d3e2f (RetryAttemptsExhausted): 5 records, ' +
        'would start 3 [0f8fad5b-d9cb-469f-a165-70867728950e, 7c9e6679-7425-40de-944b-e07fc1f90ae7, 16fd2706-8baf-433b-82eb-8c7fada847da], ' +
        'skip 2 -> dry run: nothing started or deleted',
      '{"messages":1,"records":5,"started":0,"alreadyStarted":0,"skipped":2,"failed":0,"deleted":0,"unreadable":0}',
    ]);
  });

  test('the CLI exits with 2 when a message is kept, and prints the summary', async () => {
    // Prepare
    queueHolds(sqsMessage('throttled-1'));
    shardHolds();
    sfnMock.on(StartExecutionCommand, { name: RUN_REQUESTS[1].runRequestID }).rejects(throttlingError());
    const out: string[] = [];

    // Act
    const code = await runRedriveCli(['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN], (l) => out.push(l), (l) => out.push(l));

    // Assess
    expect(code).toBe(2);
    expect(JSON.parse(out[out.length - 1])).toEqual({ messages: 1, records: 5, started: 2, alreadyStarted: 0, skipped: 2, failed: 1, deleted: 0, unreadable: 0 });
  });

  test('leaves alone a message about another table\'s stream when --table-name is given', async () => {
    // Prepare
    queueHolds(sqsMessage('other-table-1'));
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, { ...options, tableName: 'another-table' }, (line) => lines.push(line));

    // Assess
    expect(summary).toMatchObject({ messages: 1, records: 0, deleted: 0 });
    expect(streamsMock.commandCalls(GetShardIteratorCommand)).toHaveLength(0);
    expect(lines).toEqual(['message other-table-1 (RetryAttemptsExhausted): kept: its batch is from the stream of table batch-gateway-run-requests, not another-table: left alone']);
  });

  test('keeps a message that is not an on-failure record, as unreadable', async () => {
    // Prepare
    queueHolds(sqsMessage('not-json', 'hello'), sqsMessage('no-batch-info', { requestContext: { condition: 'RetryAttemptsExhausted' } }));
    const lines: string[] = [];

    // Act
    const summary = await redrive(clients, options, (line) => lines.push(line));

    // Assess
    expect(summary).toMatchObject({ messages: 2, unreadable: 2, deleted: 0 });
    expect(lines).toEqual([
      'message not-json: kept: InvalidFailureRecordError: the message body is not JSON',
      'message no-batch-info: kept: InvalidFailureRecordError: the message body has no DDBStreamBatchInfo: it is not an on-failure record of a DynamoDB stream mapping',
    ]);
  });

  test('handles a message the queue returns again (visibility timeout passed) only once, and stops', async () => {
    // Prepare
    const first = sqsMessage('again-1');
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [first] }).resolves({ Messages: [first] });
    shardHolds();
    sfnMock.on(StartExecutionCommand, { name: RUN_REQUESTS[1].runRequestID }).rejects(throttlingError());

    // Act
    const summary = await redrive(clients, options);

    // Assess
    expect(summary.messages).toBe(1);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(2);
  });

  test('receives no more than --max-messages, at most 10 per long poll', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).callsFake(({ MaxNumberOfMessages }: { MaxNumberOfMessages: number }) => ({
      Messages: Array.from({ length: MaxNumberOfMessages }, () => sqsMessage(`bad-${Math.random()}`, 'x')),
    }));

    // Act
    const summary = await redrive(clients, { ...options, maxMessages: 12, waitTimeSeconds: 5 });

    // Assess
    expect(summary.messages).toBe(12);
    expect(sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 },
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 2, WaitTimeSeconds: 5 },
    ]);
  });
});

describe('parseFailureRecord', () => {
  test('reads the batch position of the fixture', () => {
    // Act
    const record = parseFailureRecord(JSON.stringify(fixture('on-failure-record.json')));

    // Assess
    expect(record.requestContext?.condition).toBe('RetryAttemptsExhausted');
    expect(record.DDBStreamBatchInfo.batchSize).toBe(3);
    expect(tableNameOfStream(record.DDBStreamBatchInfo.streamArn)).toBe('batch-gateway-run-requests');
  });

  test.each([
    ['a sequence number that is not digits', { startSequenceNumber: 'abc' }, /startSequenceNumber must be a sequence number/],
    ['a start after the end', { startSequenceNumber: '4421585100000000017450439097' }, /is after endSequenceNumber/],
    ['no shard', { shardId: '' }, /shardId is missing/],
  ])('rejects %s', (_label, change, message) => {
    // Prepare
    const body = fixture('on-failure-record.json');
    Object.assign(body.DDBStreamBatchInfo, change);

    // Act & Assess
    expect(() => parseFailureRecord(JSON.stringify(body))).toThrow(message);
  });
});

describe('redriveOptionsFromArgs', () => {
  test('reads every option, with defaults', () => {
    // Act
    const parsed = redriveOptionsFromArgs(['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN, '--table-name', 't', '--max-messages', '25']);

    // Assess
    expect(parsed).toEqual({ queueUrl: QUEUE_URL, stateMachineArn: STATE_MACHINE_ARN, tableName: 't', dryRun: false, maxMessages: 25 });
  });

  test.each([
    ['a missing --queue-url', ['--state-machine-arn', STATE_MACHINE_ARN], '--queue-url is required'],
    ['--max-messages 0', ['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN, '--max-messages', '0'], "--max-messages must be a whole number from 1 to 100000 (got '0')"],
    ['--max-messages ten', ['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN, '--max-messages', 'ten'], "--max-messages must be a whole number from 1 to 100000 (got 'ten')"],
    ['an unknown option', ['--queue-url', QUEUE_URL, '--state-machine-arn', STATE_MACHINE_ARN, '--queue', 'x'], "Unknown option '--queue'"],
  ])('rejects %s', (_label, args, message) => {
    // Act & Assess
    expect(() => redriveOptionsFromArgs(args)).toThrow(UsageError);
    expect(() => redriveOptionsFromArgs(args)).toThrow(message);
  });
});
