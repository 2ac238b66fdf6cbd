import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { logger } from '../../lambdas/shared/logger';
import { disconnect, type WebSocketDisconnectEvent, type WsDisconnectDeps } from '../../lambdas/ws-disconnect/core';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'websocket');
function disconnectEvent(): WebSocketDisconnectEvent {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'disconnect.json'), 'utf8')) as WebSocketDisconnectEvent;
}

const TABLE_NAME = 'batch-gateway-connections';
const CONNECTION_ID = 'ZLdQ2cFijoECJqw=';

const ddbMock = mockClient(DynamoDBClient);

function deps(): WsDisconnectDeps {
  return { ddb: new DynamoDBClient({}), tableName: TABLE_NAME };
}

beforeEach(() => {
  ddbMock.reset();
  // DeleteItem of an absent key succeeds with an empty answer.
  ddbMock.on(DeleteItemCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('disconnect', () => {
  test("deletes the connection's record by its id and answers 200", async () => {
    // Act
    const response = await disconnect(disconnectEvent(), deps());

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    const deletes = ddbMock.commandCalls(DeleteItemCommand);
    expect(deletes).toHaveLength(1);
    expect(deletes[0].args[0].input).toEqual({ TableName: TABLE_NAME, Key: { connectionId: { S: CONNECTION_ID } } });
  });

  test('answers 200 when DeleteItem fails (the record expires by TTL) and logs it', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    ddbMock.on(DeleteItemCommand).rejects(throttled);

    // Act
    const response = await disconnect(disconnectEvent(), deps());

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    expect(logger.warn).toHaveBeenCalledWith('Could not delete the connection record: it expires by TTL', { error: throttled });
  });
});

describe('handler', () => {
  const ENV_TABLE = 'batch-gateway-test-connections';
  const saved = { ...process.env };


  beforeAll(() => {
    process.env.CONNECTIONS_TABLE = ENV_TABLE;
  });

  afterAll(() => {
    process.env = saved;
  });

  test('deletes the record from the configured table and logs why the connection closed', async () => {
    // Prepare
    const { handler } = require('../../lambdas/ws-disconnect/handler') as typeof import('../../lambdas/ws-disconnect/handler');

    // Act
    const response = await handler(disconnectEvent(), lambdaContext('batch-gateway-ws-disconnect'));

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    expect(ddbMock.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([{ TableName: ENV_TABLE, Key: { connectionId: { S: CONNECTION_ID } } }]);
    expect(logger.info).toHaveBeenCalledWith('Connection closed', { disconnectStatusCode: 1000, disconnectReason: 'Client-side close frame status not set' });
  });
});
