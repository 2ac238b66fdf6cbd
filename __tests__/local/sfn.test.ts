/**
 * The local Step Functions, driven by the real SFN client: StartExecution runs the definition
 * with local Task handlers, DescribeExecution reports it, names are idempotent while running and
 * taken once used, and executions survive a restart: ended ones as they ended, running ones resumed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { startLocalStepFunctions, type LocalSfnOptions, type LocalStepFunctions } from '../../local/sfn';
import { silentLog } from '../../local/types';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:batch-gateway-test';
const DEFINITION = {
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Pass', Parameters: { 'runRequestID.$': '$.runRequestID', 'ok.$': '$.ok' }, Next: 'Work' },
    Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:111122223333:function:work', ResultPath: '$.work', Next: 'Decide' },
    Decide: {
      Type: 'Choice',
      Choices: [{ Variable: '$.work.ok', BooleanEquals: true, Next: 'Done' }],
      Default: 'Broken',
    },
    Done: { Type: 'Succeed' },
    Broken: { Type: 'Fail', Error: 'WorkRefused', Cause: 'the work said no' },
  },
};

let dataDir: string;
let sfn: LocalStepFunctions;
let client: SFNClient;
/** What the Work Task does for the next executions. */
let work: (input: { runRequestID: string; ok: boolean }) => Promise<unknown>;
const workInputs: unknown[] = [];

function options(overrides: Partial<LocalSfnOptions> = {}): LocalSfnOptions {
  return {
    dataDir,
    stateMachineArn: STATE_MACHINE_ARN,
    definition: DEFINITION,
    taskHandlers: {
      Work: async (input) => {
        workInputs.push(input);
        return work(input as { runRequestID: string; ok: boolean });
      },
    },
    log: silentLog,
    ...overrides,
  };
}

/** Makes the Work Task wait until the returned function is called. */
function holdWork(): () => void {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  work = async ({ ok }) => {
    await released;
    return { ok };
  };
  return release;
}

async function start(name: string, input: Record<string, unknown>) {
  return client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input: JSON.stringify(input) }));
}

async function startError(name: string, input: Record<string, unknown>, stateMachineArn = STATE_MACHINE_ARN): Promise<Error> {
  try {
    await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  } catch (err) {
    return err as Error;
  }
  throw new Error('StartExecution succeeded where it should have failed');
}

beforeEach(async () => {
  // Prepare
  dataDir = mkdtempSync(join(tmpdir(), 'local-sfn-'));
  sfn = await startLocalStepFunctions(options());
  client = new SFNClient({ endpoint: sfn.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  work = async ({ ok }) => ({ ok });
  workInputs.length = 0;
});

afterEach(async () => {
  client.destroy();
  await sfn.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('StartExecution runs the definition and DescribeExecution reports the output', async () => {
  // Act
  const started = await start('req-1', { runRequestID: 'req-1', ok: true });
  await sfn.idle();
  const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

  // Assess
  expect(started.executionArn).toBe('arn:aws:states:us-east-1:111122223333:execution:batch-gateway-test:req-1');
  expect(started.startDate).toBeInstanceOf(Date);
  expect(Math.abs(started.startDate!.getTime() - Date.now())).toBeLessThan(10_000);
  expect(described).toMatchObject({ name: 'req-1', status: 'SUCCEEDED', stateMachineArn: STATE_MACHINE_ARN, executionArn: started.executionArn });
  expect(JSON.parse(described.input!)).toEqual({ runRequestID: 'req-1', ok: true });
  expect(JSON.parse(described.output!)).toEqual({ runRequestID: 'req-1', ok: true, work: { ok: true } });
  expect(described.stopDate).toBeInstanceOf(Date);
  expect(workInputs).toEqual([{ runRequestID: 'req-1', ok: true }]);
  expect(sfn.execution('req-1')).toMatchObject({ status: 'SUCCEEDED', states: ['Prepare', 'Work', 'Decide', 'Done'] });
  expect(sfn.started).toBe(1);
});

test('the same name and input while the execution runs returns the same ARN and starts nothing', async () => {
  // Prepare
  const release = holdWork();
  const first = await start('req-2', { runRequestID: 'req-2', ok: true });

  // Act
  const again = await start('req-2', { runRequestID: 'req-2', ok: true });
  const running = await client.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
  const otherInput = await startError('req-2', { runRequestID: 'req-2', ok: false });
  release();
  await sfn.idle();

  // Assess
  expect(again.executionArn).toBe(first.executionArn);
  expect(again.startDate).toEqual(first.startDate);
  expect(running.status).toBe('RUNNING');
  expect(running.output).toBeUndefined();
  expect(otherInput.name).toBe('ExecutionAlreadyExists');
  expect(sfn.started).toBe(1);
  expect(workInputs).toHaveLength(1);
  expect(sfn.execution('req-2')?.status).toBe('SUCCEEDED');
});

test('the same name after the execution ended is refused with ExecutionAlreadyExists', async () => {
  // Prepare
  await start('req-3', { runRequestID: 'req-3', ok: true });
  await sfn.idle();

  // Act
  const err = await startError('req-3', { runRequestID: 'req-3', ok: true });

  // Assess
  expect(err.name).toBe('ExecutionAlreadyExists');
  expect(err.message).toContain('execution:batch-gateway-test:req-3');
  expect((err as unknown as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  expect(sfn.started).toBe(1);
});

test("a Fail state ends the execution FAILED with the state's Error and Cause", async () => {
  // Act
  const started = await start('req-4', { runRequestID: 'req-4', ok: false });
  await sfn.idle();
  const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

  // Assess
  expect(sfn.execution('req-4')).toMatchObject({ status: 'FAILED', error: 'WorkRefused', cause: 'the work said no', states: ['Prepare', 'Work', 'Decide', 'Broken'] });
  expect(described).toMatchObject({ status: 'FAILED', error: 'WorkRefused', cause: 'the work said no' });
  expect(described.output).toBeUndefined();
});

test("an uncaught Task error ends the execution FAILED with the error's name and message", async () => {
  // Prepare
  work = async () => {
    throw Object.assign(new Error('the job queue is missing'), { name: 'ConfigurationError' });
  };

  // Act
  await start('req-5', { runRequestID: 'req-5', ok: true });
  await sfn.idle();

  // Assess
  expect(sfn.execution('req-5')).toMatchObject({ status: 'FAILED', error: 'ConfigurationError', cause: 'the job queue is missing', states: ['Prepare', 'Work'] });
});

test('another state machine, an unknown execution and a missing name are refused as the service would', async () => {
  // Act
  const otherMachine = await startError('req-6', {}, 'arn:aws:states:us-east-1:111122223333:stateMachine:other');
  const missingName = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, input: '{}' })).catch((err: Error) => err);
  const badName = await startError('has space', {});
  let unknown: Error | undefined;
  try {
    await client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:111122223333:execution:batch-gateway-test:nope' }));
  } catch (err) {
    unknown = err as Error;
  }

  // Assess
  expect(otherMachine.name).toBe('StateMachineDoesNotExist');
  expect((missingName as Error).name).toBe('ValidationException');
  expect(badName.name).toBe('InvalidName');
  expect(unknown?.name).toBe('ExecutionDoesNotExist');
  expect(sfn.started).toBe(0);
});

test('a Task state without a handler fails the start with a message naming it', async () => {
  // Act
  const started = startLocalStepFunctions(options({ taskHandlers: {} }));

  // Assess
  await expect(started).rejects.toThrow("every Task state needs a local handler: none for 'Work'");
});

test('an invalid state machine ARN fails the start with the value', async () => {
  await expect(startLocalStepFunctions(options({ stateMachineArn: 'batch-gateway-test' }))).rejects.toThrow("(got 'batch-gateway-test')");
});

/** Stops the server and starts another on the same data dir, as a restart of local mode does. */
async function restart(): Promise<void> {
  client.destroy();
  await sfn.close();
  sfn = await startLocalStepFunctions(options());
  client = new SFNClient({ endpoint: sfn.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

test('ended executions survive a restart with their names taken', async () => {
  // Prepare
  await start('req-7', { runRequestID: 'req-7', ok: true });
  await sfn.idle();

  // Act
  await restart();
  const reused = await startError('req-7', { runRequestID: 'req-7', ok: true });
  const described = await client.send(new DescribeExecutionCommand({ executionArn: sfn.execution('req-7')!.executionArn }));

  // Assess
  expect(sfn.started).toBe(0);
  expect(sfn.execution('req-7')).toMatchObject({ status: 'SUCCEEDED', states: ['Prepare', 'Work', 'Decide', 'Done'] });
  expect(sfn.execution('req-7')?.startDate).toBeInstanceOf(Date);
  expect(JSON.parse(described.output!)).toEqual({ runRequestID: 'req-7', ok: true, work: { ok: true } });
  expect(reused.name).toBe('ExecutionAlreadyExists');
  expect(sfn.resumeInterrupted()).toBe(0);
});

test('an execution running at a restart stays RUNNING, then resumes from its start with its input and name', async () => {
  // Prepare
  const release = holdWork();
  const started = await start('req-8', { runRequestID: 'req-8', ok: true });
  while (workInputs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

  // Act
  await restart();
  release();
  const beforeResume = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  const resumed = sfn.resumeInterrupted();
  await sfn.idle();

  // Assess
  expect(beforeResume.status).toBe('RUNNING');
  expect(resumed).toBe(1);
  expect(sfn.started).toBe(0);
  expect(workInputs).toEqual([
    { runRequestID: 'req-8', ok: true },
    { runRequestID: 'req-8', ok: true },
  ]);
  expect(sfn.execution('req-8')).toMatchObject({ status: 'SUCCEEDED', executionArn: started.executionArn, startDate: started.startDate, states: ['Prepare', 'Work', 'Decide', 'Done'] });
  expect(sfn.resumeInterrupted()).toBe(0);
});

describe('task tokens', () => {
  /** A Task that hands its token to `Hand over` and waits on it, its timeout caught into `Late`. */
  const TOKEN_DEFINITION = {
    StartAt: 'Wait for it',
    States: {
      'Wait for it': {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:111122223333:function:hand-over', Payload: { 'token.$': '$$.Task.Token', 'id.$': '$.runRequestID' } },
        ResultPath: '$.result',
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.late', Next: 'Late' }],
        Next: 'Done',
      },
      Late: { Type: 'Pass', Result: 'late', ResultPath: '$.result', Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  };
  let tokens: string[];
  /** What the Task does with its token before it waits on it. */
  let handOver: (token: string) => Promise<void>;

  beforeEach(async () => {
    await sfn.close();
    tokens = [];
    handOver = async () => undefined;
    sfn = await startLocalStepFunctions(
      options({
        definition: TOKEN_DEFINITION,
        taskHandlers: {
          'Wait for it': async (input) => {
            const { token } = (input as { Payload: { token: string } }).Payload;
            tokens.push(token);
            await handOver(token);
            return sfn.waitForTaskToken(input, 2000);
          },
        },
      }),
    );
    client = new SFNClient({ endpoint: sfn.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });

  const sendError = async (taskToken: string, output = '{}'): Promise<Error> => {
    try {
      await client.send(new SendTaskSuccessCommand({ taskToken, output }));
    } catch (err) {
      return err as Error;
    }
    throw new Error('SendTaskSuccess succeeded where it should have failed');
  };

  test('gives each wait a token in $$.Task.Token, and SendTaskSuccess ends the wait with its output', async () => {
    // Act
    await start('t-1', { runRequestID: 't-1' });
    while (tokens.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await client.send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: JSON.stringify({ status: 'SUCCEEDED' }) }));
    await sfn.idle();

    // Assess
    expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{40,1024}$/);
    expect(JSON.parse(sfn.execution('t-1')!.output!)).toEqual({ runRequestID: 't-1', result: { status: 'SUCCEEDED' } });
  });

  test('takes an output sent before the Task waits (the token was handed over and used at once)', async () => {
    handOver = async (token) => void (await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '"early"' })));

    await start('t-2', { runRequestID: 't-2' });
    await sfn.idle();

    expect(JSON.parse(sfn.execution('t-2')!.output!).result).toBe('early');
  });

  test("times the wait out as States.Timeout, which the state's Catch takes, and refuses the token afterwards", async () => {
    await start('t-3', { runRequestID: 't-3' });
    await sfn.idle();
    const late = await sendError(tokens[0]);

    expect(JSON.parse(sfn.execution('t-3')!.output!)).toMatchObject({ result: 'late', late: { Error: 'States.Timeout' } });
    expect(late.name).toBe('TaskTimedOut');
  });

  test('refuses a token used once already, a token it never issued, and an output that is not JSON', async () => {
    await start('t-4', { runRequestID: 't-4' });
    while (tokens.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const notJson = await sendError(tokens[0], 'not json');
    await client.send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: '1' }));
    await sfn.idle();

    expect(notJson.name).toBe('InvalidOutput');
    expect((await sendError(tokens[0])).name).toBe('TaskTimedOut');
    expect((await sendError('never-issued')).name).toBe('TaskDoesNotExist');
    expect((await sendError('')).name).toBe('InvalidToken');
  });
});
