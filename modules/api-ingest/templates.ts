/**
 * Velocity mapping templates of the REST API's DynamoDB integrations. They are the only code
 * between a client and the table, so every client value goes through {@link esc}: API Gateway's
 * `$util.escapeJavaScript` escapes `'` as `\'`, which is not valid JSON, and the `replaceAll`
 * (a Java regex: the three characters `\\'` match a backslash and an apostrophe) undoes exactly that.
 */

import { IDEMPOTENCY_BODY_SUFFIX, IDEMPOTENCY_ITEM_PREFIX, IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_RUN_SUFFIX, IDEMPOTENCY_WINDOW_SECONDS } from '../../contract';

/** Escapes a Velocity expression for a JSON string value. */
function esc(expression: string): string {
  return `$util.escapeJavaScript(${expression}).replaceAll("\\\\'","'")`;
}

/** `$caller`: the SigV4 caller's ARN, or `apikey:<id>` when the API is keyed instead. */
const CALLER = [
  '#set($caller = "$!context.identity.userArn")',
  '#if($caller == "")#set($caller = "apikey:$!context.identity.apiKeyId")#end',
].join('\n');

/** `$receivedAt`: ISO 8601 from `$context.requestTime` (`dd/MMM/yyyy:HH:mm:ss +0000`, always UTC). */
const RECEIVED_AT = [
  '#set($months = {"Jan":"01","Feb":"02","Mar":"03","Apr":"04","May":"05","Jun":"06","Jul":"07","Aug":"08","Sep":"09","Oct":"10","Nov":"11","Dec":"12"})',
  '#set($t = "$context.requestTime")',
  '#set($month = $t.substring(3,6))',
  '#set($receivedAt = "$t.substring(7,11)-$months.get($month)-$t.substring(0,2)T$t.substring(12,20)Z")',
].join('\n');

/** Keys of the two ConditionChecks an invalid Idempotency-Key becomes (never items: never written). */
export const INVALID_KEY_MARKERS = [`${IDEMPOTENCY_ITEM_PREFIX}invalid/1`, `${IDEMPOTENCY_ITEM_PREFIX}invalid/2`] as const;

/**
 * TransactWriteItems request for `POST /runrequests`: a new item in status ACCEPTED, never an
 * overwrite. With an `Idempotency-Key`, two items of the key go in the same transaction, in this
 * order (the response template reads the outcome by position):
 *  0. `<key item>#body`, the first body: refused (so the whole POST) when the key is live and held
 *     another body. A repeat of the same body passes this one...
 *  1. `<key item>#run`, the run the key started: ...and is refused here, which returns the item
 *     (ALL_OLD): the repeat is answered that run.
 *  2. the run request.
 * A key is live for {@link IDEMPOTENCY_WINDOW_SECONDS} (expiresAt also lets TTL delete it). A key
 * that breaks the pattern becomes two ConditionChecks that always fail: a mapping template cannot
 * answer by itself, and two reasons (never one or three) tell the response template why.
 */
export function putRunRequestTemplate(tableName: string): string {
  return `${CALLER}
${RECEIVED_AT}
#set($body = $input.path('$'))
#set($idempotencyKey = "$!input.params('${IDEMPOTENCY_KEY_HEADER}')")
#set($nowS = $context.requestTimeEpoch / 1000)
#set($keyExpiresAt = $nowS + ${IDEMPOTENCY_WINDOW_SECONDS})
#set($bodyItem = "${IDEMPOTENCY_ITEM_PREFIX}$idempotencyKey/$caller${IDEMPOTENCY_BODY_SUFFIX}")
#set($runItem = "${IDEMPOTENCY_ITEM_PREFIX}$idempotencyKey/$caller${IDEMPOTENCY_RUN_SUFFIX}")
{
  "TransactItems": [
#if($idempotencyKey != "" && !$idempotencyKey.matches("${IDEMPOTENCY_KEY_PATTERN.slice(1, -1)}"))
    {"ConditionCheck": {"TableName": "${tableName}", "Key": {"runRequestID": {"S": "${INVALID_KEY_MARKERS[0]}"}}, "ConditionExpression": "attribute_exists(runRequestID)"}},
    {"ConditionCheck": {"TableName": "${tableName}", "Key": {"runRequestID": {"S": "${INVALID_KEY_MARKERS[1]}"}}, "ConditionExpression": "attribute_exists(runRequestID)"}}
#else
#if($idempotencyKey != "")
    {"Put": {
      "TableName": "${tableName}",
      "ConditionExpression": "attribute_not_exists(runRequestID) OR expiresAt < :now OR requestBody = :body",
      "ExpressionAttributeValues": {":now": {"N": "$nowS"}, ":body": {"S": "${esc('$input.body')}"}},
      "Item": {
        "runRequestID": {"S": "${esc('$bodyItem')}"},
        "requestBody": {"S": "${esc('$input.body')}"},
        "expiresAt": {"N": "$keyExpiresAt"}
      }
    }},
    {"Put": {
      "TableName": "${tableName}",
      "ConditionExpression": "attribute_not_exists(runRequestID) OR expiresAt < :now",
      "ExpressionAttributeValues": {":now": {"N": "$nowS"}},
      "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
      "Item": {
        "runRequestID": {"S": "${esc('$runItem')}"},
        "keyedRunRequestID": {"S": "$context.requestId"},
        "receivedAt": {"S": "$receivedAt"},
        "expiresAt": {"N": "$keyExpiresAt"}
      }
    }},
#end
    {"Put": {
      "TableName": "${tableName}",
      "ConditionExpression": "attribute_not_exists(runRequestID)",
      "Item": {
        "runRequestID": {"S": "$context.requestId"},
        "status": {"S": "ACCEPTED"},
        "receivedAt": {"S": "$receivedAt"},
        "receivedAtEpochMs": {"N": "$context.requestTimeEpoch"},
        "callerIdentity": {"S": "${esc('$caller')}"},
        "processname": {"S": "${esc('$body.processname')}"},
        "clientname": {"S": "${esc('$body.clientname')}"}
#if($idempotencyKey != "")
        ,"idempotencyKey": {"S": "$idempotencyKey"}
#end
#if("$!body.timestamp" != "")
        ,"timestamp": {"S": "${esc('$body.timestamp')}"}
#end
#if("$!body.clientId" != "")
        ,"clientId": {"S": "${esc('$body.clientId')}"}
#end
#if($body.parameters && $body.parameters.size() > 0)
        ,"parameters": {"M": {
#foreach($key in $body.parameters.keySet())
          "${esc('$key')}": {"S": "${esc('$body.parameters.get($key)')}"}#if($foreach.hasNext),#end

#end
        }}
#end
      }
    }}
#end
  ]
}`;
}

/** Keys of the two ConditionChecks an invalid Idempotency-Key becomes (never items: never written). */
/** Success response of `POST /runrequests` (202: accepted, the job starts asynchronously). */
export const PUT_ACCEPTED_RESPONSE = `{"runRequestID": "$context.requestId", "status": "ACCEPTED"}`;

/** DynamoDB 5xx: transient on AWS's side; the client retries. */
export const SERVER_ERROR_RESPONSE = `{"message": "the run requests table is unavailable: retry later", "requestId": "$context.requestId"}`;

const message = (text: string) => `{"message": "${text}", "requestId": "$context.requestId"}`;
const typeIs = (...names: string[]) => names.map((n) => `$type.contains("${n}")`).join(' || ');

/** Throttling is retryable: 429. */
const THROTTLED = { when: typeIs('Throttling', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded'), status: 429, body: message('too many requests: retry with backoff') };
/**
 * DynamoDB answers some faults of the service's own side with a 400: the integration role may not
 * use the table (IAM still propagating after a deploy, or a broken policy), or the table does not
 * exist. They are not the caller's fault: 503, so that they count as 5XX (alarmed) and the caller
 * retries.
 */
const SERVICE_FAULT = { when: typeIs('AccessDenied', 'ResourceNotFound', 'UnrecognizedClient', 'MissingAuthenticationToken'), status: 503, body: SERVER_ERROR_RESPONSE };

/** DynamoDB's 4xx by its `__type`: each case its status and message; the DynamoDB message is never echoed (it names internal resources). */
function clientErrorResponse(cases: { when: string; status: number; body: string }[], otherwise: string): string {
  return [
    `#set($type = "$!input.path('$.__type')")`,
    // A case of status 0 sets its own (by its body's branches).
    ...cases.flatMap((c, i) => [`${i === 0 ? '#if' : '#elseif'}(${c.when})`, ...(c.status ? [`#set($context.responseOverride.status = ${c.status})`] : []), c.body]),
    '#else',
    otherwise,
    '#end',
  ].join('\n');
}

/**
 * The POST's transaction refused, read by the position of its reasons (see putRunRequestTemplate):
 * two reasons are an invalid key; with three, the body item refused is another body under the key
 * (422), the run item refused is a repeat (200, the run it started); a transaction that met another
 * on the same key (two POSTs at once) is in progress (409: retry); one reason is the run's own id.
 */
const TRANSACTION_CANCELLED = [
  `#set($reasons = $input.path('$.CancellationReasons'))`,
  `#set($codes = "")`,
  `#foreach($reason in $reasons)#set($codes = "$codes $!reason.Code")#end`,
  `#if($reasons.size() == 2)`,
  `#set($context.responseOverride.status = 400)`,
  message(`invalid ${IDEMPOTENCY_KEY_HEADER} header: 1 to 64 characters of A-Z a-z 0-9 _ . : -`),
  `#elseif($reasons.size() == 3 && "$!reasons.get(0).Code" == "ConditionalCheckFailed")`,
  `#set($context.responseOverride.status = 422)`,
  message(`this ${IDEMPOTENCY_KEY_HEADER} was used with another body in the last ${IDEMPOTENCY_WINDOW_SECONDS / 3600} hours: send that body again, or use a new key`),
  `#elseif($reasons.size() == 3 && "$!reasons.get(1).Code" == "ConditionalCheckFailed")`,
  `#set($context.responseOverride.status = 200)`,
  `{"runRequestID": "${esc('$reasons.get(1).Item.keyedRunRequestID.S')}", "replayed": true, "receivedAt": "${esc('$reasons.get(1).Item.receivedAt.S')}", "requestId": "$context.requestId"}`,
  `#elseif($codes.contains("TransactionConflict"))`,
  `#set($context.responseOverride.status = 409)`,
  message(`a request with this ${IDEMPOTENCY_KEY_HEADER} is in progress: retry shortly`),
  `#elseif($codes.contains("Throttling") || $codes.contains("ProvisionedThroughputExceeded"))`,
  `#set($context.responseOverride.status = 429)`,
  message('too many requests: retry with backoff'),
  `#elseif($codes.contains("ConditionalCheckFailed"))`,
  `#set($context.responseOverride.status = 409)`,
  message('a run request with this id already exists'),
  '#else',
  message('the run request could not be stored'),
  '#end',
].join('\n');

/** DynamoDB 4xx on the POST's TransactWriteItems: the transaction's own outcome, else by `__type`. */
export const PUT_CLIENT_ERROR_RESPONSE = clientErrorResponse(
  [{ when: typeIs('TransactionCanceled'), status: 0, body: TRANSACTION_CANCELLED }, THROTTLED, SERVICE_FAULT],
  message('the run request could not be stored'),
);

/** DynamoDB 4xx on GetItem: what is left is a key DynamoDB refused (an id longer than a key may be). */
export const GET_CLIENT_ERROR_RESPONSE = clientErrorResponse([THROTTLED, SERVICE_FAULT], message('invalid run request id'));

/** GetItem request for `GET /runrequests/{runRequestID}`. */
export function getRunRequestTemplate(tableName: string): string {
  return `{
  "TableName": "${tableName}",
  "Key": {"runRequestID": {"S": "${esc("$input.params('runRequestID')")}"}},
  "ConsistentRead": true
}`;
}

/** Fields of an item a caller may see, with their DynamoDB type. Everything else is internal. */
const VISIBLE_FIELDS: ReadonlyArray<[name: string, type: 'S' | 'N']> = [
  ['processname', 'S'],
  ['clientname', 'S'],
  ['timestamp', 'S'],
  ['receivedAt', 'S'],
  ['updatedAt', 'S'],
  ['jobId', 'S'],
  ['reason', 'S'],
  ['exitCode', 'N'],
  ['idempotencyKey', 'S'],
];

/**
 * GetItem response: the visible fields, and the link to the result while it works (epoch
 * milliseconds compared as 13-digit strings: Velocity compares numbers only, and these are equal
 * in length until the year 2286); or 404 when the item is absent or was posted by another caller
 * (a status is nobody else's business, and a 404 does not confirm that the id exists).
 */
export const GET_RESPONSE = `${CALLER}
#set($item = $input.path('$.Item'))
#if("$!item" == "" || "$!item.callerIdentity.S" != "$caller")
#set($context.responseOverride.status = 404)
{"message": "run request not found", "requestId": "$context.requestId"}
#else
{
  "runRequestID": "${esc('$item.runRequestID.S')}",
  "status": "${esc('$item.status.S')}"${VISIBLE_FIELDS.map(([name, type]) =>
    type === 'S'
      ? `
#if("$!item.${name}.S" != "")
  ,"${name}": "${esc(`$item.${name}.S`)}"
#end`
      : `
#if("$!item.${name}.N" != "")
  ,"${name}": $item.${name}.N
#end`,
  ).join('')}
#set($urlExpiresAtMs = "$!item.resultUrlExpiresAtEpochMs.N")
#set($requestMs = "$context.requestTimeEpoch")
#if("$!item.resultUrl.S" != "" && ($urlExpiresAtMs == "" || $urlExpiresAtMs.compareTo($requestMs) > 0))
  ,"url": "${esc('$item.resultUrl.S')}"
#if("$!item.resultUrlExpiresAt.S" != "")
  ,"urlExpiresAt": "${esc('$item.resultUrlExpiresAt.S')}"
#end
#end
}
#end`;

/**
 * Body of API Gateway's own 400 when a body fails the request model or a parameter is missing.
 * Gateway responses are not Velocity: only simple substitution. `validationErrorString` renders as
 * a quoted JSON string (like `messageString`), so it goes in unquoted.
 */
export const VALIDATION_ERROR_RESPONSE = `{"message": "invalid run request", "details": $context.error.validationErrorString, "requestId": "$context.requestId"}`;
