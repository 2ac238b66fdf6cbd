import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidRecordError } from '../../lambdas/shared/errors';
import { logger } from '../../lambdas/shared/logger';
import type { RunRequest } from '../../contract';
import {
  executionNameFor,
  runRequestFromRecord,
  startExecutionForRecord,
} from '../../lambdas/start-execution/core';
import { handler } from '../../lambdas/start-execution/handler';
import { lambdaContext } from '../helpers/lambda-context';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:batch-gateway-run';
// The handler reads it on its first invocation, so setting it here (after import) is enough.
process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'stream');
const ALLOWED_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** A fresh copy each time, so a test can break one record without affecting the others. */
function threeInserts(): DynamoDBStreamEvent {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'three-inserts.json'), 'utf8')) as DynamoDBStreamEvent;
}
const RUN_REQUESTS = JSON.parse(
  readFileSync(path.join(FIXTURES, 'three-inserts.run-requests.json'), 'utf8'),
) as RunRequest[];

function sequenceNumberOf(record: DynamoDBRecord): string {
  return record.dynamodb!.SequenceNumber!;
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

/** The StartExecution inputs sent, with `input` parsed, ordered by execution name. */
function startExecutionInputs(): Array<Omit<StartExecutionCommandInput, 'input'> & { input: unknown }> {
  return sfnMock
    .commandCalls(StartExecutionCommand)
    .map((call) => call.args[0].input)
    .map((input) => ({ ...input, input: JSON.parse(input.input!) }))
    .sort((a, b) => a.name!.localeCompare(b.name!));
}

function expectedStart(runRequest: RunRequest) {
  return { stateMachineArn: STATE_MACHINE_ARN, name: runRequest.runRequestID, input: runRequest };
}

const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({});

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => ({
    executionArn: executionArnFor(input.name!),
    startDate: new Date('2024-06-10T06:00:03Z'),
  }));
  // Keep test output clean; the handler's log lines are asserted through these spies.
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('executionNameFor', () => {
  test('keeps an API Gateway request id (UUID) unchanged', () => {
    // Prepare
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

    // Act
    const name = executionNameFor(id);

    // Assess
    expect(name).toBe(id);
  });

  test('keeps any id that is already a valid name unchanged, up to 80 characters', () => {
    // Prepare
    const ids = ['run_42-a', 'x', 'a'.repeat(80)];

    // Act
    const names = ids.map(executionNameFor);

    // Assess
    expect(names).toEqual(ids);
  });

  test.each([
    ['longer than 80 characters', 'a'.repeat(81)],
    ['of 400 characters', 'req-'.repeat(100)],
    ['with spaces and slashes', 'client a/run 1'],
    ['with colons and dots', 'arn:aws:apigateway:us-east-1::/restapis/abc.def'],
    ['with non-ASCII characters', 'résumé-✓-报告'],
    ['made only of disallowed characters', ' '],
    ['long, with non-ASCII characters and slashes', `${'ü/'.repeat(60)}end`],
  ])('turns an id %s into a valid, deterministic name', (_label, id) => {
    // Act
    const first = executionNameFor(id);
    const second = executionNameFor(id);

    // Assess
    expect(first).toMatch(ALLOWED_NAME);
    expect(first.length).toBeLessThanOrEqual(80);
    expect(second).toBe(first);
  });

  test('gives different names to ids that differ only in a disallowed character', () => {
    // Act
    const slash = executionNameFor('client-a/run-1');
    const colon = executionNameFor('client-a:run-1');

    // Assess
    expect(slash).not.toBe(colon);
    expect(slash).toMatch(/^client-a_run-1-[0-9a-f]{12}$/);
    expect(colon).toMatch(/^client-a_run-1-[0-9a-f]{12}$/);
  });

  test('gives different names to long ids that differ only after the truncation point', () => {
    // Prepare
    const common = 'r'.repeat(100);

    // Act
    const one = executionNameFor(`${common}1`);
    const two = executionNameFor(`${common}2`);

    // Assess
    expect(one).not.toBe(two);
    expect(one).toHaveLength(80);
    expect(two).toHaveLength(80);
  });

  test('rejects an empty id', () => {
    // Act & Assess
    expect(() => executionNameFor('')).toThrow(InvalidRecordError);
  });
});

describe('runRequestFromRecord', () => {
  test('returns the full item, with numbers as JavaScript numbers and maps as objects', () => {
    // Prepare
    const [record] = threeInserts().Records;

    // Act
    const runRequest = runRequestFromRecord(record);

    // Assess
    expect(runRequest).toEqual(RUN_REQUESTS[0]);
    expect(typeof runRequest.receivedAtEpochMs).toBe('number');
  });

  test('rejects a record without a new image, saying so', () => {
    // Prepare
    const [record] = threeInserts().Records;
    delete record.dynamodb!.NewImage;

    // Act & Assess
    expect(() => runRequestFromRecord(record)).toThrow(InvalidRecordError);
    expect(() => runRequestFromRecord(record)).toThrow(/no dynamodb\.NewImage/);
  });

  test('rejects an item without runRequestID, naming the attribute', () => {
    // Prepare
    const [record] = threeInserts().Records;
    delete record.dynamodb!.NewImage!.runRequestID;

    // Act & Assess
    expect(() => runRequestFromRecord(record)).toThrow(InvalidRecordError);
    expect(() => runRequestFromRecord(record)).toThrow(/is not a run request: runRequestID: expected string/);
  });

  test('rejects an item whose processname is not a string, naming the attribute', () => {
    // Prepare
    const [record] = threeInserts().Records;
    record.dynamodb!.NewImage!.processname = { N: '7' };

    // Act & Assess
    expect(() => runRequestFromRecord(record)).toThrow(/is not a run request: processname: expected string/);
  });

  test('sets the error name, so logs and failure reports can match on it', () => {
    // Prepare
    const [record] = threeInserts().Records;
    record.dynamodb!.NewImage!.runRequestID = { S: '' };

    // Act
    let caught: unknown;
    try {
      runRequestFromRecord(record);
    } catch (err) {
      caught = err;
    }

    // Assess
    expect(caught).toBeInstanceOf(InvalidRecordError);
    expect((caught as Error).name).toBe('InvalidRecordError');
  });
});

describe('startExecutionForRecord', () => {
  test('starts one execution named after the run request, with the full item as input', async () => {
    // Prepare
    const [record] = threeInserts().Records;

    // Act
    const result = await startExecutionForRecord(record, { sfn, stateMachineArn: STATE_MACHINE_ARN });

    // Assess
    expect(result).toEqual({
      skipped: false,
      runRequestID: RUN_REQUESTS[0].runRequestID,
      executionName: RUN_REQUESTS[0].runRequestID,
      executionArn: executionArnFor(RUN_REQUESTS[0].runRequestID),
      alreadyStarted: false,
    });
    expect(startExecutionInputs()).toEqual([expectedStart(RUN_REQUESTS[0])]);
  });

  test('counts ExecutionAlreadyExists as success, so a replayed record does not fail', async () => {
    // Prepare
    const [record] = threeInserts().Records;
    sfnMock.on(StartExecutionCommand).rejects(
      new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: { httpStatusCode: 400 } }),
    );

    // Act
    const result = await startExecutionForRecord(record, { sfn, stateMachineArn: STATE_MACHINE_ARN });

    // Assess
    expect(result).toEqual({
      skipped: false,
      runRequestID: RUN_REQUESTS[0].runRequestID,
      executionName: RUN_REQUESTS[0].runRequestID,
      alreadyStarted: true,
    });
  });

  test.each(['MODIFY', 'REMOVE'] as const)('skips a %s record without calling Step Functions', async (eventName) => {
    // Prepare
    const [record] = threeInserts().Records;
    record.eventName = eventName;

    // Act
    const result = await startExecutionForRecord(record, { sfn, stateMachineArn: STATE_MACHINE_ARN });

    // Assess
    expect(result).toEqual({ skipped: true, eventName, reason: expect.stringContaining('INSERT') });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('lets any other Step Functions error propagate', async () => {
    // Prepare
    const [record] = threeInserts().Records;
    const notFound = new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} });
    sfnMock.on(StartExecutionCommand).rejects(notFound);

    // Act & Assess
    await expect(startExecutionForRecord(record, { sfn, stateMachineArn: STATE_MACHINE_ARN })).rejects.toBe(notFound);
  });
});

describe('handler', () => {
  test('starts exactly one execution per record, with deterministic names and full items as input', async () => {
    // Prepare
    const event = threeInserts();

    // Act
    const response = await handler(event, lambdaContext('batch-gateway-start-execution'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
    expect(startExecutionInputs()).toEqual(
      [...RUN_REQUESTS].sort((a, b) => a.runRequestID.localeCompare(b.runRequestID)).map(expectedStart),
    );
  });

  test('logs one structured line per record with its run request id and execution name', async () => {
    // Prepare
    const event = threeInserts();

    // Act
    await handler(event, lambdaContext('batch-gateway-start-execution'));

    // Assess
    const info = jest.mocked(logger.info);
    expect(info).toHaveBeenCalledTimes(3);
    for (const runRequest of RUN_REQUESTS) {
      expect(info).toHaveBeenCalledWith(
        'Execution started',
        expect.objectContaining({
          runRequestID: runRequest.runRequestID,
          executionName: runRequest.runRequestID,
          executionArn: executionArnFor(runRequest.runRequestID),
        }),
      );
    }
  });

  test('counts ExecutionAlreadyExists as success', async () => {
    // Prepare
    const event = threeInserts();
    sfnMock
      .on(StartExecutionCommand, { name: RUN_REQUESTS[1].runRequestID })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const response = await handler(event, lambdaContext('batch-gateway-start-execution'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(logger.info).toHaveBeenCalledWith(
      'Execution already started',
      expect.objectContaining({ runRequestID: RUN_REQUESTS[1].runRequestID }),
    );
  });

  test.each([
    ['has no NewImage', (record: DynamoDBRecord) => delete record.dynamodb!.NewImage],
    ['has no runRequestID', (record: DynamoDBRecord) => delete record.dynamodb!.NewImage!.runRequestID],
  ])('reports only a poison record that %s, and starts the others', async (_label, breakRecord) => {
    // Prepare
    const event = threeInserts();
    const poison = event.Records[1];
    breakRecord(poison);

    // Act
    const response = await handler(event, lambdaContext('batch-gateway-start-execution'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumberOf(poison) }] });
    expect(startExecutionInputs()).toEqual([expectedStart(RUN_REQUESTS[0]), expectedStart(RUN_REQUESTS[2])]);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      'Could not start execution',
      expect.objectContaining({ sequenceNumber: sequenceNumberOf(poison), error: expect.any(InvalidRecordError) }),
    );
  });

  test('reports only the record whose start was still throttled after the SDK retries', async () => {
    // Prepare
    const event = threeInserts();
    const throttled = event.Records[2];
    sfnMock.on(StartExecutionCommand, { name: RUN_REQUESTS[2].runRequestID }).rejects(throttlingError());

    // Act
    const response = await handler(event, lambdaContext('batch-gateway-start-execution'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumberOf(throttled) }] });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
    expect(logger.info).toHaveBeenCalledTimes(2);
  });

  test('fails the whole invocation when every record fails, so the mapping bisects and retries', async () => {
    // Prepare
    const event = threeInserts();
    sfnMock.on(StartExecutionCommand).rejects(throttlingError());

    // Act & Assess
    await expect(handler(event, lambdaContext('batch-gateway-start-execution'))).rejects.toMatchObject({ name: 'FullBatchFailureError' });
  });

  test('loads without STATE_MACHINE_ARN, then fails the invocation with a ConfigurationError', async () => {
    // Prepare
    const saved = process.env.STATE_MACHINE_ARN;
    delete process.env.STATE_MACHINE_ARN;
    let isolatedHandler: typeof handler | undefined;
    try {
      // A fresh module registry, so the handler has not cached the ARN from the other tests.
      jest.isolateModules(() => {
        isolatedHandler = (require('../../lambdas/start-execution/handler') as { handler: typeof handler }).handler;
      });

      // Act & Assess
      await expect(isolatedHandler!(threeInserts(), lambdaContext('batch-gateway-start-execution'))).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('STATE_MACHINE_ARN'),
      });
    } finally {
      process.env.STATE_MACHINE_ARN = saved;
    }
  });
});
