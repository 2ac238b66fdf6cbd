import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { awaitJob, AwaitJobDeps } from '../../lambdas/await-job/core';
import { InvalidInputError } from '../../lambdas/shared/aws-errors';

const INPUT = { runRequestID: 'run-1', jobId: 'job-1', taskToken: 'token-1' };
const ddbMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);

function deps(): AwaitJobDeps {
  return { ddb: new DynamoDBClient({}), sfn: new SFNClient({}), tableName: 'runs', now: () => 1718004063000 };
}

beforeEach(() => {
  ddbMock.reset();
  sfnMock.reset();
  sfnMock.on(SendTaskSuccessCommand).resolves({});
});

describe('awaitJob', () => {
  it("stores the token on the run request of the job, and leaves the wake-up to the job's end event", async () => {
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: marshall({ runRequestID: 'run-1', jobId: 'job-1', status: 'RUNNING', awaitTaskToken: 'token-1' }) });

    const result = await awaitJob(INPUT, deps());

    expect(result).toEqual({ woken: false });
    const update = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(update).toMatchObject({ UpdateExpression: 'SET awaitTaskToken = :token', ConditionExpression: 'jobId = :jobId', ReturnValues: 'ALL_NEW' });
    expect(unmarshall(update.ExpressionAttributeValues!)).toEqual({ ':token': 'token-1', ':jobId': 'job-1' });
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('wakes the execution at once when the job ended before the token was stored (the event came first)', async () => {
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: marshall({ runRequestID: 'run-1', jobId: 'job-1', jobName: 'n', status: 'SUCCEEDED', exitCode: 0, awaitTaskToken: 'token-1' }) });

    expect(await awaitJob(INPUT, deps())).toEqual({ woken: true });
    const sent = sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(sent.taskToken).toBe('token-1');
    expect(JSON.parse(sent.output!)).toMatchObject({ jobId: 'job-1', status: 'SUCCEEDED', exitCode: 0 });
  });

  it('refuses a job the run request does not record: a definition bug, not something to wait for', async () => {
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));

    await expect(awaitJob(INPUT, deps())).rejects.toThrow(new InvalidInputError('await-job: run request run-1 does not record job job-1'));
  });
});
