/**
 * local/dynamodb-transactions.ts: TransactWriteItems over dynalite, as DynamoDB answers it (one
 * reason per item, in order; all or nothing; ALL_OLD on a refused condition).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamodbCall, LocalTransactions } from '../../local/dynamodb-transactions';
import { LocalDynamo, startLocalDynamo } from '../../local/dynamodb';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let dynamo: LocalDynamo;
let transactions: LocalTransactions;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ log: () => undefined });
  await dynamo.ensureTables([{ name: 'runs', hashKey: 'runRequestID' }]);
  // dynalite checks that a SigV4 header is there, not who signed it.
  const call: DynamodbCall = async (action, body) => {
    const response = await fetch(dynamo.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${action}`,
        'x-amz-date': '20261208T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=LOCAL/20261208/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00',
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.text() };
  };
  transactions = new LocalTransactions(call);
}, 30_000);

afterAll(() => dynamo?.close());

const put = (id: string, attributes: Json = {}, condition?: string, values?: Json, allOld = false) => ({
  Put: {
    TableName: 'runs',
    Item: { runRequestID: { S: id }, ...attributes },
    ...(condition ? { ConditionExpression: condition } : {}),
    ...(values ? { ExpressionAttributeValues: values } : {}),
    ...(allOld ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
  },
});
const run = async (items: Json[]) => {
  const result = await transactions.transactWrite(JSON.stringify({ TransactItems: items }));
  return { ...result, json: JSON.parse(result.body) as Json };
};
const stored = async (id: string) => (await dynamo.client.send(new GetItemCommand({ TableName: 'runs', Key: { runRequestID: { S: id } }, ConsistentRead: true }))).Item;

it('writes every item when every condition holds, and reports the puts in order', async () => {
  const result = await run([put('a', { n: { N: '1' } }, 'attribute_not_exists(runRequestID)'), put('b', {}, 'attribute_not_exists(runRequestID)')]);

  expect(result.status).toBe(200);
  expect(result.puts.map((p) => p.item.runRequestID.S)).toEqual(['a', 'b']);
  expect(await stored('a')).toEqual({ runRequestID: { S: 'a' }, n: { N: '1' } });
});

it('writes nothing when one condition fails, reporting every item (the old item where ALL_OLD was asked)', async () => {
  const result = await run([
    put('c', {}, 'attribute_not_exists(runRequestID)'),
    put('a', { n: { N: '2' } }, 'attribute_not_exists(runRequestID)', undefined, true),
    put('b', {}, 'attribute_not_exists(runRequestID)'),
  ]);

  expect(result.status).toBe(400);
  expect(result.json.__type).toBe('com.amazonaws.dynamodb.v20120810#TransactionCanceledException');
  expect(result.json.CancellationReasons).toEqual([
    { Code: 'None' },
    { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { runRequestID: { S: 'a' }, n: { N: '1' } } },
    { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
  ]);
  expect(result.puts).toEqual([]);
  expect(await stored('c')).toBeUndefined();
  expect((await stored('a'))?.n).toEqual({ N: '1' });
});

it('evaluates conditions on attributes and values, and on the key of an existing item', async () => {
  const holds = await run([put('a', { n: { N: '3' } }, 'attribute_not_exists(runRequestID) OR n = :one', { ':one': { N: '1' } }), put('d')]);
  const fails = await run([put('a', {}, 'attribute_not_exists(runRequestID) OR n = :one', { ':one': { N: '1' } })]);

  expect(holds.status).toBe(200);
  expect(fails.json.CancellationReasons).toEqual([{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }]);
  expect((await stored('a'))?.n).toEqual({ N: '3' });
});

it('fails a ConditionCheck on an absent item and writes nothing for it', async () => {
  const result = await run([{ ConditionCheck: { TableName: 'runs', Key: { runRequestID: { S: 'nowhere' } }, ConditionExpression: 'attribute_exists(runRequestID)' } }, put('e')]);

  expect(result.json.CancellationReasons.map((r: Json) => r.Code)).toEqual(['ConditionalCheckFailed', 'None']);
  expect(await stored('e')).toBeUndefined();
  expect(await stored('nowhere')).toBeUndefined();
});

it.each([
  ['two operations on one item', [put('f'), put('f')], /multiple operations on one item/],
  ['an Update, which local mode does not emulate', [{ Update: {} }], /does not emulate Update/],
  ['no items', [], /1 to 100 items/],
])('refuses %s with a ValidationException', async (_, items, message) => {
  const result = await run(items as Json[]);

  expect(result.status).toBe(400);
  expect(result.json.__type).toMatch(/ValidationException$/);
  expect(result.json.message).toMatch(message);
});

it('runs concurrent transactions one at a time: of two racing for one item, one wins', async () => {
  const race = await Promise.all([1, 2].map((n) => run([put('g', { n: { N: String(n) } }, 'attribute_not_exists(runRequestID)'), put(`g-${n}`)])));

  expect(race.map((r) => r.status).sort()).toEqual([200, 400]);
  expect([await stored('g-1'), await stored('g-2')].filter(Boolean)).toHaveLength(1);
});
