import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ThrottledError } from '../../lambdas/shared/aws-errors';
import { ConfigurationError } from '../../lambdas/shared/errors';
import { logger } from '../../lambdas/shared/logger';
import { DEFAULT_CONNECTION_TTL_SECONDS } from '../../contract';
import { connect, connectionTtlSecondsFrom, type WebSocketConnectEvent, type WsConnectDeps } from '../../lambdas/ws-connect/core';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'websocket');
/** A fresh copy each time, so a test can change it without affecting the others. */
function connectEvent(change: (raw: Record<string, any>) => void = () => undefined): WebSocketConnectEvent {
  const raw = JSON.parse(readFileSync(path.join(FIXTURES, 'connect.json'), 'utf8')) as Record<string, any>;
  change(raw);
  return raw as WebSocketConnectEvent;
}

const TABLE_NAME = 'batch-gateway-connections';
const CONNECTION_ID = 'ZLdQ2cFijoECJqw=';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/acme-submitter/session-1718000398';
// 2024-06-10T06:19:58.412Z, the fixture's connectedAt.
const NOW_MS = 1718000398412;
const NOW_S = 1718000398;

const ddbMock = mockClient(DynamoDBClient);

function deps(ttlSeconds = 3600): WsConnectDeps {
  return { ddb: new DynamoDBClient({}), tableName: TABLE_NAME, ttlSeconds, now: () => NOW_MS };
}

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(PutItemCommand).resolves({});
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('connect', () => {
  test('records the connection with its clientId, the caller ARN and an expiry in epoch seconds, never overwriting', async () => {
    // Act
    const response = await connect(connectEvent(), deps());

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    const puts = ddbMock.commandCalls(PutItemCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0].args[0].input).toEqual({
      TableName: TABLE_NAME,
      Item: {
        connectionId: { S: CONNECTION_ID },
        clientId: { S: 'acme-42' },
        callerIdentity: { S: CALLER },
        connectedAt: { S: '2024-06-10T06:19:58.412Z' },
        expiresAt: { N: String(NOW_S + 3600) },
      },
      ConditionExpression: 'attribute_not_exists(connectionId)',
    });
  });

  test('sets expiresAt in seconds (TTL ignores a millisecond value for centuries)', async () => {
    // Act
    await connect(connectEvent(), deps(120));

    // Assess
    const expiresAt = Number(ddbMock.commandCalls(PutItemCommand)[0].args[0].input.Item!.expiresAt.N);
    expect(expiresAt).toBe(NOW_S + 120);
    expect(expiresAt).toBeLessThan(1e11);
    expect(Number.isInteger(expiresAt)).toBe(true);
  });

  test.each([
    ['a clientId at the 128-character limit', 'c'.repeat(128)],
    ['a clientId with every allowed punctuation', 'erp_01.eu-west-1:nightly'],
  ])('accepts %s', async (_label, clientId) => {
    // Act
    const response = await connect(connectEvent((raw) => (raw.queryStringParameters.clientId = clientId)), deps());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(ddbMock.commandCalls(PutItemCommand)[0].args[0].input.Item!.clientId).toEqual({ S: clientId });
  });

  test.each([
    ['queryStringParameters is null', (raw: Record<string, any>) => (raw.queryStringParameters = null)],
    ['queryStringParameters is absent', (raw: Record<string, any>) => delete raw.queryStringParameters],
    ['the query string has no clientId', (raw: Record<string, any>) => (raw.queryStringParameters = { client: 'acme-42' })],
    ['clientId is empty', (raw: Record<string, any>) => (raw.queryStringParameters.clientId = '')],
  ])('refuses with 400, recording nothing, when %s', async (_label, change) => {
    // Act
    const response = await connect(connectEvent(change), deps());

    // Assess
    expect(response).toEqual({ statusCode: 400, body: 'clientId is required: connect with the query string ?clientId=<your client id>' });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  test.each([
    ['a space', 'acme 42'],
    ['a slash', 'acme/42'],
    ['non-ASCII letters', 'açme-42'],
    ['129 characters', 'c'.repeat(129)],
    ['a newline at the end', 'acme-42\n'],
  ])('refuses with 400 and says what is allowed, recording nothing, for a clientId with %s', async (_label, clientId) => {
    // Act
    const response = await connect(connectEvent((raw) => (raw.queryStringParameters.clientId = clientId)), deps());

    // Assess
    expect(response).toEqual({ statusCode: 400, body: 'clientId must be 1 to 128 characters among A-Z a-z 0-9 _ . : -' });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  test.each([
    ['there is no identity', (raw: Record<string, any>) => delete raw.requestContext.identity],
    ['the identity has a null userArn (an unsigned request)', (raw: Record<string, any>) => (raw.requestContext.identity.userArn = null)],
    ['the identity has only a caller id', (raw: Record<string, any>) => delete raw.requestContext.identity.userArn],
  ])('refuses with 403, recording nothing, when %s', async (_label, change) => {
    // Act
    const response = await connect(connectEvent(change), deps());

    // Assess
    expect(response).toEqual({ statusCode: 403, body: 'authentication is required: sign the connection request with SigV4' });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  test('refuses with 409 a connection id that is already recorded', async () => {
    // Prepare
    ddbMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const response = await connect(connectEvent(), deps());

    // Assess
    expect(response).toEqual({ statusCode: 409, body: 'this connection is already registered' });
  });

  test('throws ThrottledError when PutItem is throttled', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    ddbMock.on(PutItemCommand).rejects(throttled);

    // Act
    const result = connect(connectEvent(), deps());

    // Assess
    await expect(result).rejects.toThrow(ThrottledError);
    await expect(result).rejects.toMatchObject({ message: 'PutItem throttled', cause: throttled });
  });
});

describe('connectionTtlSecondsFrom', () => {
  test.each([
    [undefined, DEFAULT_CONNECTION_TTL_SECONDS],
    ['', DEFAULT_CONNECTION_TTL_SECONDS],
    ['1', 1],
    ['7200', 7200],
  ])('reads %p as %p seconds', (value, seconds) => {
    // Act & Assess
    expect(connectionTtlSecondsFrom(value)).toBe(seconds);
  });

  test.each(['0', '-60', '3600.5', '1e3', 'one hour', ' ', '3600000000000000000000'])('refuses %p with ConfigurationError naming the value', (value) => {
    // Act & Assess
    expect(() => connectionTtlSecondsFrom(value)).toThrow(ConfigurationError);
    expect(() => connectionTtlSecondsFrom(value)).toThrow(`(got '${value}')`);
  });
});

describe('handler', () => {
  const ENV_TABLE = 'batch-gateway-test-connections';
  const saved = { ...process.env };


  /** Loaded after the environment is set: the handler reads it on first use. */
  function loadHandler(): typeof import('../../lambdas/ws-connect/handler').handler {
    return (require('../../lambdas/ws-connect/handler') as typeof import('../../lambdas/ws-connect/handler')).handler;
  }

  beforeAll(() => {
    process.env.CONNECTIONS_TABLE = ENV_TABLE;
    process.env.CONNECTION_TTL_SECONDS = '7200';
  });

  afterAll(() => {
    process.env = saved;
  });

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  test('records the connection in the configured table with the configured lifetime', async () => {
    // Prepare
    const handler = loadHandler();

    // Act
    const response = await handler(connectEvent(), lambdaContext('batch-gateway-ws-connect'));

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    const put = ddbMock.commandCalls(PutItemCommand)[0].args[0].input;
    expect(put.TableName).toBe(ENV_TABLE);
    expect(put.Item!.expiresAt).toEqual({ N: String(NOW_S + 7200) });
    expect(logger.info).toHaveBeenCalledWith('Connection recorded', { clientId: 'acme-42' });
  });

  test('answers a refused connection with its status and message', async () => {
    // Prepare
    const handler = loadHandler();

    // Act
    const response = await handler(connectEvent((raw) => (raw.queryStringParameters = null)), lambdaContext('batch-gateway-ws-connect'));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(logger.warn).toHaveBeenCalledWith('Connection refused', expect.objectContaining({ statusCode: 400, sourceIp: '203.0.113.10' }));
  });

  test('answers 429 without details when DynamoDB is throttled', async () => {
    // Prepare
    const handler = loadHandler();
    ddbMock.on(PutItemCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    // Act
    const response = await handler(connectEvent(), lambdaContext('batch-gateway-ws-connect'));

    // Assess
    expect(response).toEqual({ statusCode: 429, body: 'too many connection attempts: retry with backoff' });
    expect(logger.error).toHaveBeenCalledWith('Could not record the connection', { error: expect.any(ThrottledError) });
  });

  test('answers 500 without details when the table does not exist', async () => {
    // Prepare
    const handler = loadHandler();
    ddbMock.on(PutItemCommand).rejects(Object.assign(new Error(`Requested resource not found: Table: ${ENV_TABLE} not found`), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }));

    // Act
    const response = await handler(connectEvent(), lambdaContext('batch-gateway-ws-connect'));

    // Assess
    expect(response).toEqual({ statusCode: 500, body: 'the connection could not be recorded: retry later' });
    expect(response.body).not.toContain(ENV_TABLE);
  });
});
