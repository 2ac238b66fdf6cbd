/**
 * TransactWriteItems for local mode, which dynalite does not implement: the REST API's POST is one
 * (see modules/api-ingest/templates.ts). Transactions run one at a time. Each item's condition is
 * evaluated by dynalite itself (a Query with the condition as its filter, over a copy of the item in
 * a scratch table; an absent item is evaluated as one without attributes); when all hold, the writes go in,
 * else nothing is written and the answer is DynamoDB's TransactionCanceledException with one reason
 * per item, in order (and the item, for ReturnValuesOnConditionCheckFailure ALL_OLD).
 *
 * What it does not emulate: Update items (the REST API puts only); isolation from writers outside
 * transactions (the functions never write the items a POST puts: new ids and key items); and
 * TransactionConflict, which a serialized engine never meets (templates are tested for it by
 * rendering). Writes are not atomic across a crash of local mode between two of them.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Sends one AWS JSON-protocol request (`DynamoDB_20120810.<action>`) to dynalite. */
export type DynamodbCall = (action: string, body: unknown) => Promise<{ status: number; body: string }>;

type Item = Record<string, AttributeValue>;
type Expressions = { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item };
interface TransactItem {
  Put?: Expressions & { TableName: string; Item: Item; ReturnValuesOnConditionCheckFailure?: string };
  Delete?: Expressions & { TableName: string; Key: Item; ReturnValuesOnConditionCheckFailure?: string };
  ConditionCheck?: Expressions & { TableName: string; Key: Item; ReturnValuesOnConditionCheckFailure?: string };
  Update?: unknown;
}

/** A put the transaction made: what the local stream receives. */
export interface TransactionPut {
  readonly tableName: string;
  readonly item: Item;
}

export interface TransactionResult {
  readonly status: number;
  readonly body: string;
  /** The items put, in order, when the transaction went in. */
  readonly puts: TransactionPut[];
}

const SCRATCH_TABLE = 'local-mode-transaction-scratch';
const SCRATCH_KEY = 'localModeScratchKey';
/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_ITEMS = 100;

const clientError = (type: string, message: string): TransactionResult => ({
  status: 400,
  body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  puts: [],
});

export class LocalTransactions {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly keySchemas = new Map<string, string[]>();
  private scratchReady?: Promise<void>;

  constructor(private readonly call: DynamodbCall) {}

  /** Runs one TransactWriteItems request (its JSON body); transactions never overlap. */
  public transactWrite(requestBody: string): Promise<TransactionResult> {
    const single = singlePut(requestBody);
    // One Put (a POST without a key) is a conditional PutItem, which dynalite runs atomically itself.
    if (single) return this.putOne(single);
    const run = this.queue.then(() => this.run(requestBody));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(requestBody: string): Promise<TransactionResult> {
    let items: TransactItem[];
    try {
      items = (JSON.parse(requestBody) as { TransactItems?: TransactItem[] }).TransactItems ?? [];
    } catch {
      return clientError('SerializationException', 'the request is not JSON');
    }
    if (items.length === 0 || items.length > MAX_ITEMS) return clientError('ValidationException', `TransactItems must hold 1 to ${MAX_ITEMS} items (got ${items.length})`);
    const targets: { table: string; key: Item; op: TransactItem }[] = [];
    for (const op of items) {
      if (op.Update) return clientError('ValidationException', 'local mode does not emulate Update in TransactWriteItems');
      const spec = op.Put ?? op.Delete ?? op.ConditionCheck;
      if (!spec) return clientError('ValidationException', 'each transaction item must be a Put, a Delete or a ConditionCheck');
      const key = op.Put ? await this.keyOf(op.Put.TableName, op.Put.Item) : (spec as { Key: Item }).Key;
      if (key === undefined) return clientError('ResourceNotFoundException', `Requested resource not found: table ${spec.TableName}`);
      targets.push({ table: spec.TableName, key, op });
    }
    const ids = targets.map((t) => `${t.table}\n${JSON.stringify(t.key)}`);
    if (new Set(ids).size !== ids.length) return clientError('ValidationException', 'Transaction request cannot include multiple operations on one item');

    const reasons: { Code: string; Message?: string; Item?: Item }[] = [];
    for (const { table, key, op } of targets) {
      const spec = (op.Put ?? op.Delete ?? op.ConditionCheck)!;
      const existing = await this.getItem(table, key);
      const holds = spec.ConditionExpression === undefined || (await this.conditionHolds(existing, spec));
      if (holds) reasons.push({ Code: 'None' });
      else reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(existing && spec.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? { Item: existing } : {}) });
    }
    if (reasons.some((r) => r.Code !== 'None')) {
      return { status: 400, body: cancelled(reasons), puts: [] };
    }

    const puts: TransactionPut[] = [];
    for (const { table, key, op } of targets) {
      if (op.Put) {
        await this.must('PutItem', { TableName: table, Item: op.Put.Item });
        puts.push({ tableName: table, item: op.Put.Item });
      } else if (op.Delete) {
        await this.must('DeleteItem', { TableName: table, Key: key });
      }
    }
    return { status: 200, body: '{}', puts };
  }

  private async putOne(put: NonNullable<TransactItem['Put']>): Promise<TransactionResult> {
    const { ReturnValuesOnConditionCheckFailure: _returned, ...request } = put;
    const answer = await this.call('PutItem', request);
    if (answer.status === 200) return { status: 200, body: '{}', puts: [{ tableName: put.TableName, item: put.Item }] };
    if (!answer.body.includes('ConditionalCheckFailedException')) return { status: answer.status, body: answer.body, puts: [] };
    return { status: 400, body: cancelled([{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }]), puts: [] };
  }

  /**
   * Whether the item (`existing`, or none) meets the condition, as dynalite evaluates a filter. The
   * item is evaluated as a copy in a scratch table: a filter may not name its own table's key.
   */
  private async conditionHolds(existing: Item | undefined, spec: Expressions): Promise<boolean> {
    await (this.scratchReady ??= this.createScratchTable());
    const scratchKey = { [SCRATCH_KEY]: { S: 'item' } };
    await this.must('PutItem', { TableName: SCRATCH_TABLE, Item: { ...existing, ...scratchKey } });
    const names = { ...spec.ExpressionAttributeNames, '#localTxKey': SCRATCH_KEY };
    const values = { ...spec.ExpressionAttributeValues, ':localTxKey': scratchKey[SCRATCH_KEY] };
    return this.matches(SCRATCH_TABLE, '#localTxKey = :localTxKey', spec.ConditionExpression!, names, values);
  }

  private async matches(table: string, keyCondition: string, filter: string, names: Record<string, string>, values: Item): Promise<boolean> {
    const answer = await this.call('Query', {
      TableName: table,
      KeyConditionExpression: keyCondition,
      FilterExpression: filter,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ConsistentRead: true,
      Select: 'COUNT',
    });
    if (answer.status !== 200) throw new TransactionEngineError(`evaluating ${JSON.stringify(filter)}: ${answer.body}`);
    return (JSON.parse(answer.body) as { Count: number }).Count > 0;
  }

  private async getItem(table: string, key: Item): Promise<Item | undefined> {
    const answer = JSON.parse(await this.must('GetItem', { TableName: table, Key: key, ConsistentRead: true })) as { Item?: Item };
    return answer.Item;
  }

  /** The key attributes of `item` in `table` (undefined when the table does not exist). */
  private async keyOf(table: string, item: Item): Promise<Item | undefined> {
    let names = this.keySchemas.get(table);
    if (!names) {
      const answer = await this.call('DescribeTable', { TableName: table });
      if (answer.status !== 200) return undefined;
      names = (JSON.parse(answer.body) as { Table: { KeySchema: { AttributeName: string }[] } }).Table.KeySchema.map((k) => k.AttributeName);
      this.keySchemas.set(table, names);
    }
    return Object.fromEntries(names.map((n) => [n, item[n]]));
  }

  private async createScratchTable(): Promise<void> {
    const answer = await this.call('CreateTable', {
      TableName: SCRATCH_TABLE,
      AttributeDefinitions: [{ AttributeName: SCRATCH_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: SCRATCH_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    if (answer.status !== 200 && !answer.body.includes('ResourceInUseException')) throw new TransactionEngineError(`creating ${SCRATCH_TABLE}: ${answer.body}`);
    for (let i = 0; i < 100; i++) {
      const described = await this.call('DescribeTable', { TableName: SCRATCH_TABLE });
      if (described.status === 200 && (JSON.parse(described.body) as { Table: { TableStatus: string } }).Table.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new TransactionEngineError(`${SCRATCH_TABLE} did not become ACTIVE`);
  }

  private async must(action: string, body: unknown): Promise<string> {
    const answer = await this.call(action, body);
    if (answer.status !== 200) throw new TransactionEngineError(`${action}: ${answer.body}`);
    return answer.body;
  }
}

/** DynamoDB's TransactionCanceledException with its reasons, one per item in order. */
function cancelled(reasons: { Code: string; Message?: string; Item?: Item }[]): string {
  return JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    CancellationReasons: reasons,
  });
}

/** The transaction's only item when it is a Put. */
function singlePut(requestBody: string): TransactItem['Put'] | undefined {
  try {
    const items = (JSON.parse(requestBody) as { TransactItems?: TransactItem[] }).TransactItems;
    return items?.length === 1 && items[0].Put && Object.keys(items[0]).length === 1 ? items[0].Put : undefined;
  } catch {
    return undefined;
  }
}

/** The local engine failed (dynalite refused a call it should not): a 500, as DynamoDB's own fault. */
export class TransactionEngineError extends Error {
  public override readonly name = 'TransactionEngineError';
}
