/**
 * Renders API Gateway (REST API) mapping templates the way API Gateway does, for tests and for a
 * local mode. API Gateway runs Apache Velocity 1.7 over Java objects (Jayway JsonPath results,
 * java.lang.String, LinkedHashMap, ...); this module uses velocityjs only as a parser and for its
 * render loop, and replaces its evaluation with Velocity 1.7 / Java semantics:
 *
 * - Values are modelled as Java values: a JSON object or map literal is a JS `Map` (a
 *   LinkedHashMap: insertion order, also for keys like "2"), a JSON array is a JS array (tagged,
 *   because it renders as JSON), strings are Java strings with Java's methods (`length()`,
 *   `replaceAll` with Java regex, literal `replace`, whole-string `matches`, Java `split`, ...),
 *   numbers are Integer/Long/Double. JS methods and properties are never reachable from a template.
 * - Null references render as the empty string, for `$x` as for `$!x`. Plain Velocity 1.7 renders
 *   the reference's own text (`$x`); API Gateway renders nothing. Not in AWS's documentation, but
 *   observed and reproduced by emulators (LocalStack: "Apigateway does not return None but returns
 *   an empty string instead"; api-gateway-mapping-template PR #4: "api gateway prints null objects
 *   as empty string"). A null nested in a map or list renders as `null` (Java's toString).
 * - Velocity 1.7 truthiness: `#if($x)` is false only for null and Boolean false; "" and 0 are true.
 *   `==` compares numbers numerically, same-class values with equals(), otherwise by toString().
 *   `#set($x = <null>)` leaves `$x` unchanged (1.7 default `directive.set.null.allowed=false`).
 *   Integer `/` truncates, division by zero gives null, `<`/`>` compare numbers only.
 * - String literals as in 1.7: no backslash escapes except `\uXXXX` in double quotes, so `"\\'"`
 *   is the three characters `\\'` (velocityjs itself turns `\"` into `"`; that is undone here).
 * - `$util.escapeJavaScript` is Commons Lang 2.x `StringEscapeUtils.escapeJavaScript` (escapes `'`
 *   as `\'`, which is not valid JSON: templates undo it with `.replaceAll("\\'","'")`).
 *
 * Differences from API Gateway that remain are listed in {@link KNOWN_DIFFERENCES}.
 */
import { randomUUID } from 'node:crypto';
import { Compile, Helper, parse } from 'velocityjs';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** `$context.identity`. Every field is optional: pass what your template reads. */
export interface ApiGatewayIdentity {
  readonly accountId?: string;
  readonly apiKey?: string;
  readonly apiKeyId?: string;
  readonly caller?: string;
  readonly cognitoAuthenticationProvider?: string;
  readonly cognitoAuthenticationType?: string;
  readonly cognitoIdentityId?: string;
  readonly cognitoIdentityPoolId?: string;
  readonly principalOrgId?: string;
  readonly sourceIp?: string;
  readonly user?: string;
  readonly userAgent?: string;
  readonly userArn?: string;
  readonly [key: string]: unknown;
}

/** `$context.error` (gateway responses and integration error responses). */
export interface ApiGatewayError {
  readonly message?: string;
  readonly messageString?: string;
  readonly responseType?: string;
  readonly validationErrorString?: string;
}

/** `$context`. Unset fields get the placeholders of {@link DEFAULT_CONTEXT}. */
export interface ApiGatewayContext {
  readonly accountId: string;
  readonly apiId: string;
  readonly authorizer: Readonly<Record<string, unknown>>;
  readonly domainName: string;
  readonly error: ApiGatewayError;
  readonly extendedRequestId: string;
  readonly httpMethod: string;
  readonly identity: ApiGatewayIdentity;
  readonly path: string;
  readonly protocol: string;
  readonly requestId: string;
  /** `dd/MMM/yyyy:HH:mm:ss +0000`. @default - derived from `requestTimeEpoch` */
  readonly requestTime: string;
  /** Milliseconds since the epoch. @default - `Date.now()` */
  readonly requestTimeEpoch: number;
  readonly resourceId: string;
  readonly resourcePath: string;
  readonly stage: string;
  readonly [key: string]: unknown;
}

export interface RequestParams {
  readonly path?: Readonly<Record<string, string>>;
  readonly querystring?: Readonly<Record<string, string>>;
  readonly header?: Readonly<Record<string, string>>;
}

export interface RenderInput {
  /** Raw request body, or the integration response body for a response template. @default '' */
  readonly body?: string;
  /** `$context`, merged over placeholders. @default - {@link DEFAULT_CONTEXT} */
  readonly context?: Partial<ApiGatewayContext>;
  /** `$input.params()`. @default - no parameters */
  readonly params?: RequestParams;
  /** `$stageVariables`. @default - none */
  readonly stageVariables?: Readonly<Record<string, string>>;
}

export interface RenderResult {
  /** The rendered text, exactly (API Gateway does not trim it). */
  readonly output: string;
  /** `$context.responseOverride.status`, when the template set it. */
  readonly statusOverride?: number;
  /** `$context.responseOverride.header.<name>` values the template set. */
  readonly headerOverrides: Record<string, string>;
}

/** A template that cannot be parsed, uses an unsupported construct, or fails at run time like Java would. */
export class MappingTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MappingTemplateError';
  }
}

/** Placeholders for `$context` fields a test did not pass. */
export const DEFAULT_CONTEXT = {
  accountId: '123456789012',
  apiId: 'local',
  domainName: 'local.execute-api.us-east-1.amazonaws.com',
  extendedRequestId: 'local-extended-request-id',
  httpMethod: 'POST',
  identity: { sourceIp: '127.0.0.1', userAgent: 'local-test' },
  path: '/',
  protocol: 'HTTP/1.1',
  resourceId: 'local',
  resourcePath: '/',
  stage: 'test',
} as const;

/**
 * Where this renderer is known to differ from API Gateway (Velocity 1.7 on Java), and which of its
 * API Gateway behaviours are beliefs not verified against AWS. Exported so the list is reviewable.
 */
export const KNOWN_DIFFERENCES: readonly string[] = [
  'Numbers: a JSON number whose value is integral renders like an Integer ("2" for 2.0 or 1e0; Java renders a Double as "2.0"). Integers beyond 2^53 lose precision.',
  'Map literal keys are read from velocityjs, which has already dropped the quotes: integer-like literal keys are reordered by JS and a key written as "a\\"b" cannot be restored. A map literal cannot be an operand of == (velocityjs grammar).',
  'String literals: "a""b" (doubled quote) is a parse error in velocityjs; single-quoted literals containing \\\' (which Velocity 1.7 lexes differently) are rejected; \'...\\\' (ending in a backslash) is a velocityjs lexical error.',
  'Escapes: velocityjs drops the backslash of every \\$ and \\# ("\\$5" renders "$5"); Velocity 1.7 keeps it unless a defined reference or a directive follows. A call of an undefined macro renders as text with its arguments re-spaced.',
  'Java regex features without a JS equivalent are rejected (possessive quantifiers, atomic groups, \\p{...}, class union/intersection, inline flags other than leading (?i)/(?s)/(?m)). (?i) folds Unicode case in JS but only ASCII in Java; \\b and . work on UTF-16 units.',
  'String.split returns a Java String[] whose toString is an identity hash; here it renders like a List ("[a, b]").',
  'JSONPath: filters ([?(...)]), functions (.length()) and multi-property brackets ([\'a\',\'b\']) are rejected. JSON parsing is strict (json-smart also accepts some non-JSON).',
  'JSON text ($input.json, and a JSON list rendered as $x) uses json-smart escapes (\\/ in lists, \\uXXXX for U+007F-U+009F and U+2000-U+20FF); AWS may escape differently, never with a different JSON meaning.',
  'Belief: $input.json(path) of a missing path renders "" (two quote characters); $input.path gives null.',
  'Belief: $input.params(name) of a missing parameter is "" (truthy), and header names match case-insensitively.',
  'Belief: an empty body reads as {} for $input.path and $input.json.',
  'Belief (Velocity 1.7 SimpleNode.evaluate): #if on a string, number, list or map literal, or on arithmetic, is false; only references, booleans, comparisons and !, &&, || have a truth value.',
  'Belief: $util functions given a non-string argument convert it with toString(); API Gateway might find no matching method and render nothing.',
];

/**
 * Renders a mapping template. Throws {@link MappingTemplateError} where API Gateway would fail the
 * request (parse errors, Java exceptions such as StringIndexOutOfBoundsException, invalid JSON
 * read through `$input.path`).
 */
export function renderMappingTemplate(template: string, input: RenderInput = {}): RenderResult {
  const context = buildContext(input.context);
  const root: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  root.input = new InputVariable(input.body ?? '', input.params ?? {});
  root.util = new UtilVariable();
  root.context = context;
  root.stageVariables = toJavaValue(input.stageVariables ?? {});

  const engine = new ApiGatewayVelocityEngine(parsedTemplate(template));
  let output: string;
  try {
    output = engine.render(root, {}, true);
  } catch (error) {
    if (error instanceof MappingTemplateError) throw error;
    throw new MappingTemplateError(`template failed: ${(error as Error).message}`, { cause: error });
  }
  return { output, ...readResponseOverride(context) };
}

/**
 * Java's `String.matches`: whether the whole of `input` matches the Java regex `pattern` (what API
 * Gateway does with an integration response's selection pattern). Throws
 * {@link MappingTemplateError} for a pattern Java rejects or this translation does not support.
 */
export function javaMatches(input: string, pattern: string): boolean {
  const p = compileJavaPattern(pattern);
  return new RegExp(`${START_OF_INPUT}(?:${p.source})${END_OF_INPUT}`, p.flags).test(input);
}

/**
 * Commons Lang 2.x `StringEscapeUtils.escapeJavaScript`: `'` `"` `\` `/` get a backslash; \b \f
 * \n \r \t their short escape; other chars below 0x20 and every UTF-16 unit above 0x7F become
 * `\uXXXX` (uppercase hex; a surrogate pair gives two escapes). DEL (0x7F) is left as is.
 */
export function escapeJavaScript(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch > 0x7f) {
      out += '\\u' + ch.toString(16).toUpperCase().padStart(4, '0');
    } else if (ch < 0x20) {
      const short = SHORT_ESCAPES[ch];
      out += short ?? '\\u' + ch.toString(16).toUpperCase().padStart(4, '0');
    } else if (ch === 0x27 || ch === 0x22 || ch === 0x5c || ch === 0x2f) {
      out += '\\' + s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

const SHORT_ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };

// ---------------------------------------------------------------------------------------------
// Java value model
// ---------------------------------------------------------------------------------------------

/** Arrays that came from JSON (json-smart JSONArray): their toString is JSON, not "[a, b]". */
const jsonLists = new WeakSet<unknown[]>();

function jsonList(items: unknown[]): unknown[] {
  jsonLists.add(items);
  return items;
}

/** `Map.Entry` from `entrySet()`. */
class MapEntry {
  constructor(
    readonly key: unknown,
    readonly value: unknown,
  ) {}
}

/** Velocity 1.7 `$foreach`. */
class ForeachScope {
  constructor(
    readonly index: number,
    private readonly size: number,
    readonly parent: ForeachScope | undefined,
  ) {}
  get count(): number {
    return this.index + 1;
  }
  get hasNext(): boolean {
    return this.index + 1 < this.size;
  }
  get first(): boolean {
    return this.index === 0;
  }
  get last(): boolean {
    return !this.hasNext;
  }
}

/** Sentinel for "no such method/property": Velocity renders such a reference as null. */
const NOT_FOUND: unique symbol = Symbol('not found');
type Found = unknown | typeof NOT_FOUND;

/** `$input`, `$util`: objects whose Java methods are implemented here. */
abstract class HostObject {
  abstract readonly javaName: string;
  property(_name: string): Found {
    return NOT_FOUND;
  }
  abstract invoke(name: string, args: unknown[]): Found;
}

function isMap(v: unknown): v is Map<unknown, unknown> {
  return v instanceof Map;
}

/** Converts plain JS input (context, stage variables) to the Java model. */
function toJavaValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toJavaValue);
  if (v !== null && typeof v === 'object' && !(v instanceof Map)) {
    return new Map(Object.entries(v).map(([k, x]) => [k, toJavaValue(x)]));
  }
  return v;
}

/** `String.valueOf(v)` for a top-level rendering; null is handled by the caller. */
function javaToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return javaNumberToString(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (jsonLists.has(v)) return toJsonText(v, true);
    return '[' + v.map(javaToString).join(', ') + ']';
  }
  if (isMap(v)) {
    return '{' + [...v].map(([k, x]) => `${javaToString(k)}=${javaToString(x)}`).join(', ') + '}';
  }
  if (v instanceof MapEntry) return `${javaToString(v.key)}=${javaToString(v.value)}`;
  if (v instanceof HostObject) return v.javaName;
  if (v instanceof ForeachScope) return 'org.apache.velocity.runtime.directive.ForeachScope';
  return String(v);
}

/** Integer/Long digits, or Java `Double.toString`. */
function javaNumberToString(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) return String(n);
  const [mantissa, exponent] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : mantissa + '.0'}E${Number(exponent)}`;
}

/** JSON text with json-smart's escapes (uppercase \uXXXX for controls, U+007F-U+009F, U+2000-U+20FF). */
function toJsonText(v: unknown, escapeSlash: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return quoteJson(v, escapeSlash);
  if (typeof v === 'number') return Number.isFinite(v) ? javaNumberToString(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map((x) => toJsonText(x, escapeSlash)).join(',') + ']';
  if (isMap(v)) {
    return '{' + [...v].map(([k, x]) => `${quoteJson(javaToString(k), escapeSlash)}:${toJsonText(x, escapeSlash)}`).join(',') + '}';
  }
  return quoteJson(javaToString(v), escapeSlash);
}

function quoteJson(s: string, escapeSlash: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x22) out += '\\"';
    else if (ch === 0x5c) out += '\\\\';
    else if (ch === 0x2f) out += escapeSlash ? '\\/' : '/';
    else if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (ch < 0x20 || (ch >= 0x7f && ch <= 0x9f) || (ch >= 0x2000 && ch <= 0x20ff)) {
      out += '\\u' + ch.toString(16).toUpperCase().padStart(4, '0');
    } else out += s[i];
  }
  return out + '"';
}

/** Velocity 1.7 `#if`: false only for null and Boolean false. */
function isTruthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  return true;
}

function javaClassOf(v: unknown): string {
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'number') return 'Number';
  if (Array.isArray(v)) return 'List';
  if (isMap(v)) return 'Map';
  if (v instanceof MapEntry) return 'MapEntry';
  return typeof v === 'object' && v !== null ? (v.constructor?.name ?? 'Object') : typeof v;
}

/** `Object.equals` for the Java model. */
function javaEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => javaEquals(x, b[i]));
  if (isMap(a) && isMap(b)) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) if (!b.has(k) || !javaEquals(x, b.get(k))) return false;
    return true;
  }
  if (a instanceof MapEntry && b instanceof MapEntry) return javaEquals(a.key, b.key) && javaEquals(a.value, b.value);
  return false;
}

/** Velocity 1.7 `ASTEQNode`. */
function velocityEquals(left: unknown, right: unknown): boolean {
  if (typeof left === 'number' && typeof right === 'number') return left === right;
  const leftNull = left === null || left === undefined;
  const rightNull = right === null || right === undefined;
  if (!leftNull && !rightNull && javaClassOf(left) === javaClassOf(right)) return javaEquals(left, right);
  if (leftNull && rightNull) return true;
  if (leftNull || rightNull) return false;
  return javaToString(left) === javaToString(right);
}

// ---------------------------------------------------------------------------------------------
// JSON (order-preserving, to the Java model) and JSONPath (Jayway subset)
// ---------------------------------------------------------------------------------------------

function parseJson(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new MappingTemplateError(`invalid JSON: ${what} at position ${i}`);
  };
  const skipWhitespace = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const readString = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text[i++];
      if (ch === '"') return out;
      if (ch === '\\') {
        const e = text[i++];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) out += simple[e];
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
          out += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else fail('bad escape');
      } else if (ch < ' ') fail('control character in string');
      else out += ch;
    }
  };
  const readValue = (): unknown => {
    skipWhitespace();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const map = new Map<string, unknown>();
      skipWhitespace();
      if (text[i] === '}') {
        i++;
        return map;
      }
      for (;;) {
        skipWhitespace();
        if (text[i] !== '"') fail('expected a string key');
        const key = readString();
        skipWhitespace();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        map.set(key, readValue());
        skipWhitespace();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return map;
        } else fail("expected ',' or '}'");
      }
    }
    if (ch === '[') {
      i++;
      const list = jsonList([]);
      skipWhitespace();
      if (text[i] === ']') {
        i++;
        return list;
      }
      for (;;) {
        list.push(readValue());
        skipWhitespace();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return list;
        } else fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return readString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    number.lastIndex = i;
    const m = number.exec(text);
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    return fail('unexpected character');
  };
  const value = readValue();
  skipWhitespace();
  if (i !== text.length) fail('trailing characters');
  return value;
}

type PathStep =
  | { readonly kind: 'property'; readonly name: string; readonly deep: boolean }
  | { readonly kind: 'wildcard'; readonly deep: boolean }
  | { readonly kind: 'index'; readonly indexes: number[] }
  | { readonly kind: 'slice'; readonly start?: number; readonly end?: number };

const MISSING: unique symbol = Symbol('missing path');

/** Jayway JsonPath subset: `$`, `.a`, `['a']`, `[0]`, `[-1]`, `[0,2]`, `[1:3]`, `*`, `..a`. */
function readJsonPath(root: unknown, path: string): unknown {
  const steps = compileJsonPath(path);
  const definite = steps.every((s) => s.kind === 'property' ? !s.deep : s.kind === 'index' && s.indexes.length === 1);
  let nodes: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of nodes) applyPathStep(step, node, next);
    nodes = next;
  }
  if (definite) return nodes.length > 0 ? nodes[0] : MISSING;
  return jsonList(nodes);
}

function applyPathStep(step: PathStep, node: unknown, out: unknown[]): void {
  const children = (n: unknown): unknown[] => (isMap(n) ? [...n.values()] : Array.isArray(n) ? n : []);
  const scan = (n: unknown, visit: (n: unknown) => void): void => {
    visit(n);
    for (const child of children(n)) scan(child, visit);
  };
  switch (step.kind) {
    case 'property': {
      const pick = (n: unknown): void => {
        if (isMap(n) && n.has(step.name)) out.push(n.get(step.name));
      };
      if (step.deep) scan(node, pick);
      else pick(node);
      return;
    }
    case 'wildcard':
      if (step.deep) for (const child of children(node)) scan(child, (n) => out.push(n));
      else out.push(...children(node));
      return;
    case 'index':
      if (!Array.isArray(node)) return;
      for (const index of step.indexes) {
        const at = index < 0 ? node.length + index : index;
        if (at >= 0 && at < node.length) out.push(node[at]);
      }
      return;
    case 'slice': {
      if (!Array.isArray(node)) return;
      const clamp = (n: number): number => Math.min(Math.max(n < 0 ? node.length + n : n, 0), node.length);
      out.push(...node.slice(clamp(step.start ?? 0), clamp(step.end ?? node.length)));
      return;
    }
  }
}

const compiledPaths = new Map<string, PathStep[]>();

function compileJsonPath(rawPath: string): PathStep[] {
  const cached = compiledPaths.get(rawPath);
  if (cached) return cached;
  const unsupported = (what: string): never => {
    throw new MappingTemplateError(`JSONPath ${JSON.stringify(rawPath)}: ${what} is not supported by this renderer`);
  };
  const invalid = (what: string): never => {
    throw new MappingTemplateError(`invalid JSONPath ${JSON.stringify(rawPath)}: ${what}`);
  };
  let path = rawPath.trim();
  if (!path.startsWith('$')) path = '$.' + path; // Jayway prepends "$." to a relative path
  const steps: PathStep[] = [];
  let i = 1;
  const readName = (): string => {
    const start = i;
    while (i < path.length && path[i] !== '.' && path[i] !== '[') i++;
    const name = path.slice(start, i);
    if (name === '') invalid(`empty property name at ${start}`);
    if (name.endsWith(')')) unsupported(`the function ${name}`);
    return name;
  };
  const readBracket = (deep: boolean): void => {
    let end = i + 1;
    let quote: string | undefined;
    for (; end < path.length; end++) {
      const c = path[end];
      if (quote) {
        if (c === '\\') end++;
        else if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === ']') break;
    }
    if (end >= path.length) invalid(`unclosed '[' at ${i}`);
    const content = path.slice(i + 1, end).trim();
    i = end + 1;
    if (content === '*') steps.push({ kind: 'wildcard', deep });
    else if (content.startsWith('?')) unsupported('a filter expression');
    else if (content.startsWith("'") || content.startsWith('"')) {
      const single = /^(['"])((?:\\.|(?!\1)[\s\S])*)\1$/.exec(content);
      if (!single) unsupported('a multi-property bracket');
      steps.push({ kind: 'property', name: (single as RegExpExecArray)[2].replace(/\\(.)/g, '$1'), deep });
    } else if (deep) unsupported('a deep scan of an index');
    else if (content.includes(':')) {
      const [start, end2] = content.split(':').map((p) => (p.trim() === '' ? undefined : parseInt(p, 10)));
      steps.push({ kind: 'slice', start, end: end2 });
    } else {
      const indexes = content.split(',').map((p) => (/^\s*-?\d+\s*$/.test(p) ? parseInt(p, 10) : invalid(`bad index ${p}`)));
      steps.push({ kind: 'index', indexes });
    }
  };
  while (i < path.length) {
    if (path.startsWith('..', i)) {
      i += 2;
      if (path[i] === '[') readBracket(true);
      else if (path[i] === '*') {
        i++;
        steps.push({ kind: 'wildcard', deep: true });
      } else steps.push({ kind: 'property', name: readName(), deep: true });
    } else if (path[i] === '.') {
      i++;
      if (path[i] === '*') {
        i++;
        steps.push({ kind: 'wildcard', deep: false });
      } else steps.push({ kind: 'property', name: readName(), deep: false });
    } else if (path[i] === '[') readBracket(false);
    else invalid(`unexpected ${JSON.stringify(path[i])} at ${i}`);
  }
  compiledPaths.set(rawPath, steps);
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Java regex (java.util.regex) on JS RegExp
// ---------------------------------------------------------------------------------------------

interface JavaPattern {
  readonly source: string;
  readonly flags: string;
  readonly groupCount: number;
}

const compiledPatterns = new Map<string, JavaPattern>();
const LINE_TERMINATOR = '[\\n\\r\\u0085\\u2028\\u2029]';
const END_OF_INPUT = '(?![\\s\\S])';
const START_OF_INPUT = '(?<![\\s\\S])';
const JAVA_WHITESPACE = ' \\t\\n\\x0B\\f\\r';

function patternSyntaxError(pattern: string, what: string): never {
  throw new MappingTemplateError(`java.util.regex.PatternSyntaxException: ${what} in ${JSON.stringify(pattern)}`);
}

function unsupportedRegex(pattern: string, what: string): never {
  throw new MappingTemplateError(`Java regex ${JSON.stringify(pattern)}: ${what} is not supported by this renderer`);
}

/** Translates a Java pattern to an equivalent JS one, or refuses. */
function compileJavaPattern(pattern: string): JavaPattern {
  const cached = compiledPatterns.get(pattern);
  if (cached) return cached;
  let i = 0;
  const flags = { i: false, s: false, m: false };
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i)); m; m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i))) {
    for (const f of m[1]) {
      if (f === 'i' || f === 's' || f === 'm') flags[f] = true;
      else if (f !== 'u') unsupportedRegex(pattern, `the inline flag (?${f})`);
    }
    i += m[0].length;
  }
  const escapeLiteral = (s: string, inClass: boolean): string =>
    s.replace(inClass ? /[\\\]^-]/g : /[\\^$.|?*+()[\]{}/]/g, '\\$&');
  let out = '';
  let inClass = false;
  let classStart = -1;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const d = pattern[i + 1];
      if (d === undefined) patternSyntaxError(pattern, 'Unexpected internal error (trailing backslash)');
      i += 2;
      if (d === 'Q') {
        const end = pattern.indexOf('\\E', i);
        const literal = pattern.slice(i, end === -1 ? pattern.length : end);
        out += escapeLiteral(literal, inClass);
        i = end === -1 ? pattern.length : end + 2;
      } else if ('dDwWtnrf'.includes(d) || (d === 'b' && !inClass) || (d === 'B' && !inClass)) out += '\\' + d;
      else if (d === 's') out += inClass ? JAVA_WHITESPACE : `[${JAVA_WHITESPACE}]`;
      else if (d === 'S' && !inClass) out += `[^${JAVA_WHITESPACE}]`;
      else if (d === 'A' && !inClass) out += START_OF_INPUT;
      else if (d === 'z' && !inClass) out += END_OF_INPUT;
      else if (d === 'Z' && !inClass) out += `(?=(?:\\r\\n|${LINE_TERMINATOR})?${END_OF_INPUT})`;
      else if (d === 'e') out += '\\x1B';
      else if (d === 'a') out += '\\x07';
      else if (d === 'u' && /^[0-9a-fA-F]{4}$/.test(pattern.slice(i, i + 4))) {
        out += '\\u' + pattern.slice(i, i + 4);
        i += 4;
      } else if (d === 'x' && /^[0-9a-fA-F]{2}/.test(pattern.slice(i))) {
        out += '\\x' + pattern.slice(i, i + 2);
        i += 2;
      } else if (d === 'c' && /^[A-Za-z]/.test(pattern.slice(i))) {
        out += '\\c' + pattern[i];
        i++;
      } else if (d === '0') {
        const m = /^(?:[0-3][0-7]{2}|[0-7]{1,2})/.exec(pattern.slice(i));
        if (!m) patternSyntaxError(pattern, 'Illegal octal escape sequence');
        out += '\\u' + parseInt(m[0], 8).toString(16).padStart(4, '0');
        i += m[0].length;
      } else if (/[1-9]/.test(d) && !inClass) out += '\\' + d;
      else if (d === 'k' && pattern[i] === '<' && !inClass) out += '\\k';
      else if (/[a-zA-Z0-9]/.test(d)) {
        if ('pPhHvVRXGNK'.includes(d) || d === 'S' || d === 'b' || d === 'B') unsupportedRegex(pattern, `\\${d}`);
        patternSyntaxError(pattern, `Illegal/unsupported escape sequence \\${d}`);
      } else out += '\\' + d; // a backslash before a non-alphabetic character quotes it, in both
      continue;
    }
    if (inClass) {
      if (c === ']' && i === classStart) out += '\\]'; // "[]...]": Java takes a leading ] literally
      else if (c === '[') unsupportedRegex(pattern, 'a nested character class (union)');
      else if (c === '&' && pattern[i + 1] === '&') unsupportedRegex(pattern, 'character class intersection');
      else {
        out += c;
        if (c === ']') inClass = false;
      }
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      classStart = i;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (/^(?::|=|!|<=|<!|<[a-zA-Z][a-zA-Z0-9]*>)/.test(rest)) out += '(?';
      else if (rest.startsWith('>')) unsupportedRegex(pattern, 'an atomic group (?>...)');
      else unsupportedRegex(pattern, 'an inline flag group');
      i += 2;
      continue;
    }
    if (c === '{') {
      const m = /^\{\d+(?:,\d*)?\}/.exec(pattern.slice(i));
      if (!m) patternSyntaxError(pattern, `Illegal repetition near index ${i}`);
      out += m[0];
      i += m[0].length;
      if (pattern[i] === '+') unsupportedRegex(pattern, 'a possessive quantifier');
      continue;
    }
    if ((c === '*' || c === '+' || c === '?') && pattern[i + 1] === '+') unsupportedRegex(pattern, 'a possessive quantifier');
    if (c === '.') out += flags.s ? '[\\s\\S]' : '[^\\n\\r\\u0085\\u2028\\u2029]';
    else if (c === '^') out += flags.m ? `(?:${START_OF_INPUT}|(?<=[\\n\\u0085\\u2028\\u2029]|\\r(?!\\n))(?=[\\s\\S]))` : START_OF_INPUT;
    else if (c === '$') out += flags.m ? `(?=${LINE_TERMINATOR}|${END_OF_INPUT})` : `(?=(?:\\r\\n|${LINE_TERMINATOR})?${END_OF_INPUT})`;
    else out += c;
    i++;
  }
  if (inClass) patternSyntaxError(pattern, 'Unclosed character class');
  let groupCount: number;
  try {
    groupCount = (new RegExp(out + '|').exec('') as RegExpExecArray).length - 1;
  } catch (error) {
    patternSyntaxError(pattern, (error as Error).message);
  }
  const compiled = { source: out, flags: flags.i ? 'i' : '', groupCount };
  compiledPatterns.set(pattern, compiled);
  return compiled;
}

/** `Matcher.appendReplacement` semantics: `$n`, `${name}`, `\x` quotes x. */
function expandJavaReplacement(replacement: string, groups: (string | undefined)[], named: Record<string, string | undefined> | undefined): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i];
    if (c === '\\') {
      i++;
      if (i >= replacement.length) throw new MappingTemplateError('java.lang.IllegalArgumentException: character to be escaped is missing');
      out += replacement[i];
    } else if (c === '$') {
      i++;
      if (replacement[i] === '{') {
        const end = replacement.indexOf('}', i);
        const name = replacement.slice(i + 1, end);
        if (end === -1 || !/^[a-zA-Z][a-zA-Z0-9]*$/.test(name) || !named || !(name in named)) {
          throw new MappingTemplateError(`java.lang.IllegalArgumentException: No group with name {${name}}`);
        }
        out += named[name] ?? '';
        i = end;
      } else {
        if (!/[0-9]/.test(replacement[i] ?? '')) throw new MappingTemplateError('java.lang.IllegalArgumentException: Illegal group reference');
        let ref = Number(replacement[i]);
        while (/[0-9]/.test(replacement[i + 1] ?? '') && ref * 10 + Number(replacement[i + 1]) < groups.length) {
          ref = ref * 10 + Number(replacement[++i]);
        }
        if (ref >= groups.length) throw new MappingTemplateError(`java.lang.IndexOutOfBoundsException: No group ${ref}`);
        out += groups[ref] ?? '';
      }
    } else out += c;
  }
  return out;
}

function javaReplace(s: string, regex: string, replacement: string, all: boolean): string {
  const p = compileJavaPattern(regex);
  const re = new RegExp(p.source, p.flags + (all ? 'g' : ''));
  return s.replace(re, (...args: unknown[]) => {
    const groups = args.slice(0, p.groupCount + 1) as (string | undefined)[];
    const last = args[args.length - 1];
    const named = typeof last === 'object' && last !== null ? (last as Record<string, string | undefined>) : undefined;
    return expandJavaReplacement(replacement, groups, named);
  });
}

/** `String.split(regex, limit)`, including Java 8+'s rules for leading and trailing empty strings. */
function javaSplit(s: string, regex: string, limit: number): string[] {
  const p = compileJavaPattern(regex);
  const re = new RegExp(p.source, p.flags + 'g');
  const parts: string[] = [];
  let index = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[0].length === 0) re.lastIndex++;
    if (limit > 0 && parts.length >= limit - 1) break;
    if (index === 0 && start === 0 && end === 0) continue;
    parts.push(s.slice(index, start));
    index = end;
  }
  if (index === 0 && parts.length === 0) return [s];
  parts.push(s.slice(index));
  if (limit === 0) while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Java methods on values
// ---------------------------------------------------------------------------------------------

const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function javaException(name: string, detail: string): never {
  throw new MappingTemplateError(`${name}: ${detail}`);
}

function requireNonNull(method: string, args: unknown[]): void {
  if (args.some((a) => a === null || a === undefined)) javaException('java.lang.NullPointerException', `null argument to ${method}`);
}

function invokeJavaMethod(target: unknown, name: string, args: unknown[]): Found {
  if (target === null || target === undefined) return NOT_FOUND;
  if (target instanceof HostObject) return target.invoke(name, args);
  if (typeof target === 'string') return invokeStringMethod(target, name, args);
  if (typeof target === 'number' || typeof target === 'boolean') {
    if (name === 'toString' && args.length === 0) return javaToString(target);
    if (name === 'equals' && args.length === 1) return javaEquals(target, args[0]);
    if (typeof target === 'number' && args.length === 0 && ['intValue', 'longValue'].includes(name)) return Math.trunc(target);
    if (typeof target === 'number' && args.length === 0 && name === 'doubleValue') return target;
    if (typeof target === 'boolean' && args.length === 0 && name === 'booleanValue') return target;
    return NOT_FOUND;
  }
  if (Array.isArray(target)) return invokeListMethod(target, name, args);
  if (isMap(target)) return invokeMapMethod(target, name, args);
  if (target instanceof MapEntry) {
    if (args.length > 0) return NOT_FOUND;
    if (name === 'getKey') return target.key;
    if (name === 'getValue') return target.value;
    if (name === 'toString') return javaToString(target);
    return NOT_FOUND;
  }
  if (target instanceof ForeachScope && args.length === 0) {
    const methods: Record<string, () => unknown> = {
      hasNext: () => target.hasNext,
      getHasNext: () => target.hasNext,
      isFirst: () => target.first,
      getFirst: () => target.first,
      isLast: () => target.last,
      getLast: () => target.last,
      getIndex: () => target.index,
      getCount: () => target.count,
      getParent: () => target.parent,
    };
    return name in methods ? methods[name]() : NOT_FOUND;
  }
  return NOT_FOUND;
}

function invokeStringMethod(s: string, name: string, args: unknown[]): Found {
  const [a, b] = args;
  const outOfBounds = (detail: string): never => javaException('java.lang.StringIndexOutOfBoundsException', detail);
  switch (`${name}/${args.length}`) {
    case 'length/0':
      return s.length;
    case 'isEmpty/0':
      return s.length === 0;
    case 'toString/0':
    case 'intern/0':
      return s;
    case 'toLowerCase/0':
      return s.toLowerCase();
    case 'toUpperCase/0':
      return s.toUpperCase();
    case 'trim/0': {
      let start = 0;
      let end = s.length;
      while (start < end && s.charCodeAt(start) <= 0x20) start++;
      while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
      return s.slice(start, end);
    }
    case 'hashCode/0': {
      let h = 0;
      for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
      return h;
    }
    case 'toCharArray/0':
      return s.split('');
    case 'equals/1':
      return s === a;
    case 'equalsIgnoreCase/1':
      return isString(a) && s.length === a.length && s.toUpperCase() === a.toUpperCase();
    case 'charAt/1':
      if (!isInt(a)) return NOT_FOUND;
      if (a < 0 || a >= s.length) outOfBounds(`index ${a}, length ${s.length}`);
      return s[a];
    case 'codePointAt/1':
      if (!isInt(a)) return NOT_FOUND;
      if (a < 0 || a >= s.length) outOfBounds(`index ${a}, length ${s.length}`);
      return s.codePointAt(a);
    case 'substring/1':
    case 'substring/2': {
      if (!isInt(a) || (args.length === 2 && !isInt(b))) return NOT_FOUND;
      const end = args.length === 2 ? (b as number) : s.length;
      if (a < 0 || end > s.length || a > end) outOfBounds(`begin ${a}, end ${end}, length ${s.length}`);
      return s.slice(a, end);
    }
    case 'concat/1':
      requireNonNull('concat', args);
      return isString(a) ? s + a : NOT_FOUND;
    case 'compareTo/1': {
      requireNonNull(name, args);
      if (!isString(a)) return NOT_FOUND;
      for (let i = 0; i < Math.min(s.length, a.length); i++) {
        if (s.charCodeAt(i) !== a.charCodeAt(i)) return s.charCodeAt(i) - a.charCodeAt(i);
      }
      return s.length - a.length;
    }
    case 'contains/1':
      requireNonNull('contains', args);
      return isString(a) ? s.includes(a) : NOT_FOUND;
    case 'startsWith/1':
    case 'startsWith/2': {
      requireNonNull('startsWith', args);
      if (!isString(a) || (args.length === 2 && !isInt(b))) return NOT_FOUND;
      const offset = args.length === 2 ? (b as number) : 0;
      return offset >= 0 && offset <= s.length - a.length && s.startsWith(a, offset);
    }
    case 'endsWith/1':
      requireNonNull('endsWith', args);
      return isString(a) ? s.endsWith(a) : NOT_FOUND;
    case 'indexOf/1':
    case 'indexOf/2':
    case 'lastIndexOf/1':
    case 'lastIndexOf/2': {
      requireNonNull(name, args);
      const needle = isInt(a) ? String.fromCodePoint(a) : a;
      if (!isString(needle) || (args.length === 2 && !isInt(b))) return NOT_FOUND;
      if (name === 'indexOf') return s.indexOf(needle, args.length === 2 ? Math.max(0, b as number) : 0);
      if (args.length === 2 && (b as number) < 0) return -1;
      return s.lastIndexOf(needle, args.length === 2 ? (b as number) : Infinity);
    }
    case 'matches/1': {
      requireNonNull('matches', args);
      if (!isString(a)) return NOT_FOUND;
      const p = compileJavaPattern(a);
      return new RegExp(`${START_OF_INPUT}(?:${p.source})${END_OF_INPUT}`, p.flags).test(s);
    }
    case 'replace/2':
      requireNonNull('replace', args);
      if (!isString(a) || !isString(b)) return NOT_FOUND;
      if (a === '') return b + s.split('').join(b) + b;
      return s.split(a).join(b); // literal and every occurrence, unlike String.prototype.replace
    case 'replaceAll/2':
    case 'replaceFirst/2':
      requireNonNull(name, args);
      return isString(a) && isString(b) ? javaReplace(s, a, b, name === 'replaceAll') : NOT_FOUND;
    case 'split/1':
    case 'split/2':
      requireNonNull('split', args);
      if (!isString(a) || (args.length === 2 && !isInt(b))) return NOT_FOUND;
      return javaSplit(s, a, args.length === 2 ? (b as number) : 0);
    default:
      return NOT_FOUND;
  }
}

function invokeListMethod(list: unknown[], name: string, args: unknown[]): Found {
  const [a, b] = args;
  const checkIndex = (i: number, size: number): void => {
    if (i < 0 || i >= size) javaException('java.lang.IndexOutOfBoundsException', `Index: ${i}, Size: ${list.length}`);
  };
  switch (`${name}/${args.length}`) {
    case 'size/0':
      return list.length;
    case 'isEmpty/0':
      return list.length === 0;
    case 'toString/0':
      return javaToString(list);
    case 'get/1':
      if (!isInt(a)) return NOT_FOUND;
      checkIndex(a, list.length);
      return list[a];
    case 'contains/1':
      return list.some((x) => javaEquals(x, a));
    case 'indexOf/1':
      return list.findIndex((x) => javaEquals(x, a));
    case 'lastIndexOf/1':
      return list.map((x) => javaEquals(x, a)).lastIndexOf(true);
    case 'equals/1':
      return javaEquals(list, a);
    case 'add/1':
      list.push(a);
      return true;
    case 'add/2':
      if (!isInt(a)) return NOT_FOUND;
      checkIndex(a, list.length + 1);
      list.splice(a, 0, b);
      return undefined;
    case 'addAll/1':
      if (!Array.isArray(a)) return NOT_FOUND;
      list.push(...a);
      return a.length > 0;
    case 'set/2': {
      if (!isInt(a)) return NOT_FOUND;
      checkIndex(a, list.length);
      const previous = list[a];
      list[a] = b;
      return previous;
    }
    case 'remove/1': {
      if (isInt(a)) {
        checkIndex(a, list.length);
        return list.splice(a, 1)[0];
      }
      const at = list.findIndex((x) => javaEquals(x, a));
      if (at !== -1) list.splice(at, 1);
      return at !== -1;
    }
    case 'clear/0':
      list.length = 0;
      return undefined;
    case 'subList/2':
      if (!isInt(a) || !isInt(b)) return NOT_FOUND;
      if (a < 0 || b > list.length || a > b) javaException('java.lang.IndexOutOfBoundsException', `fromIndex ${a}, toIndex ${b}`);
      return list.slice(a, b);
    default:
      return NOT_FOUND;
  }
}

function invokeMapMethod(map: Map<unknown, unknown>, name: string, args: unknown[]): Found {
  const [a, b] = args;
  const orNull = (v: unknown): unknown => (v === undefined ? null : v);
  switch (`${name}/${args.length}`) {
    case 'get/1':
      return orNull(map.get(a));
    case 'getOrDefault/2':
      return map.has(a) ? map.get(a) : b;
    case 'containsKey/1':
      return map.has(a);
    case 'containsValue/1':
      return [...map.values()].some((x) => javaEquals(x, a));
    case 'keySet/0':
      return [...map.keys()];
    case 'values/0':
      return [...map.values()];
    case 'entrySet/0':
      return [...map].map(([k, v]) => new MapEntry(k, v));
    case 'size/0':
      return map.size;
    case 'isEmpty/0':
      return map.size === 0;
    case 'put/2': {
      const previous = orNull(map.get(a));
      map.set(a, b);
      return previous;
    }
    case 'putAll/1':
      if (!isMap(a)) return NOT_FOUND;
      for (const [k, v] of a) map.set(k, v);
      return undefined;
    case 'remove/1': {
      const previous = orNull(map.get(a));
      map.delete(a);
      return previous;
    }
    case 'clear/0':
      map.clear();
      return undefined;
    case 'equals/1':
      return javaEquals(map, a);
    case 'toString/0':
      return javaToString(map);
    default:
      return NOT_FOUND;
  }
}

/** Velocity property lookup `$x.name`: getName()/isName() beans, Map.get, nothing from JS. */
function readJavaProperty(target: unknown, name: string): Found {
  if (isMap(target)) return target.has(name) ? target.get(name) : NOT_FOUND;
  if (target instanceof HostObject) return target.property(name);
  if (target instanceof MapEntry) return name === 'key' ? target.key : name === 'value' ? target.value : NOT_FOUND;
  if (target instanceof ForeachScope) {
    const properties: Record<string, unknown> = {
      index: target.index,
      count: target.count,
      hasNext: target.hasNext,
      first: target.first,
      last: target.last,
      parent: target.parent,
    };
    return name in properties ? properties[name] : NOT_FOUND;
  }
  if ((typeof target === 'string' || Array.isArray(target)) && name === 'empty') return target.length === 0;
  return NOT_FOUND;
}

// ---------------------------------------------------------------------------------------------
// $input, $util, $context
// ---------------------------------------------------------------------------------------------

class InputVariable extends HostObject {
  readonly javaName = '$input';
  private parsedBody: unknown;
  private readonly params: Map<string, Map<string, unknown>>;

  constructor(
    private readonly body: string,
    params: RequestParams,
  ) {
    super();
    this.params = new Map([
      ['path', toJavaValue(params.path ?? {}) as Map<string, unknown>],
      ['querystring', toJavaValue(params.querystring ?? {}) as Map<string, unknown>],
      ['header', toJavaValue(params.header ?? {}) as Map<string, unknown>],
    ]);
  }

  override property(name: string): Found {
    return name === 'body' ? this.body : NOT_FOUND;
  }

  invoke(name: string, args: unknown[]): Found {
    const [a] = args;
    switch (`${name}/${args.length}`) {
      case 'getBody/0':
        return this.body;
      case 'path/1': {
        if (!isString(a)) return NOT_FOUND;
        const value = this.read(a);
        return value === MISSING ? null : value;
      }
      case 'json/1': {
        if (!isString(a)) return NOT_FOUND;
        const value = this.read(a);
        // Unverified belief: API Gateway renders a missing path as an empty JSON string.
        return value === MISSING ? '""' : toJsonText(value, false);
      }
      case 'params/0':
        return this.params;
      case 'params/1': {
        if (!isString(a)) return NOT_FOUND;
        for (const kind of ['path', 'querystring', 'header']) {
          const values = this.params.get(kind) as Map<string, unknown>;
          if (values.has(a)) return values.get(a);
          if (kind === 'header') {
            for (const [k, v] of values) if (isString(k) && k.toLowerCase() === a.toLowerCase()) return v;
          }
        }
        return ''; // a missing parameter is an empty string, not null
      }
      default:
        return NOT_FOUND;
    }
  }

  private read(path: string): unknown {
    if (this.parsedBody === undefined) {
      // A request without a body reads as {} (API Gateway sends "{}" for $input.json('$')).
      this.parsedBody = this.body.trim() === '' ? new Map() : parseJson(this.body);
    }
    return readJsonPath(this.parsedBody, path);
  }
}

class UtilVariable extends HostObject {
  readonly javaName = '$util';

  invoke(name: string, args: unknown[]): Found {
    if (args.length !== 1) return NOT_FOUND;
    const [a] = args;
    const text = (): string => {
      if (a === null || a === undefined) javaException('java.lang.NullPointerException', `null argument to $util.${name}`);
      return javaToString(a);
    };
    switch (name) {
      case 'escapeJavaScript':
        return a === null || a === undefined ? null : escapeJavaScript(javaToString(a));
      case 'parseJson':
        return parseJson(text());
      case 'urlEncode':
        return javaUrlEncode(text());
      case 'urlDecode':
        return javaUrlDecode(text());
      case 'base64Encode':
        return Buffer.from(replaceLoneSurrogates(text()), 'utf8').toString('base64');
      case 'base64Decode':
        return Buffer.from(text(), 'base64').toString('utf8');
      default:
        return NOT_FOUND;
    }
  }
}

/** Java's UTF-8 encoder writes '?' for a lone surrogate. */
function replaceLoneSurrogates(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '?');
}

/** `URLEncoder.encode(s, "UTF-8")`: space is '+', `A-Za-z0-9.-*_` stay, the rest is %XX. */
function javaUrlEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(replaceLoneSurrogates(s), 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** `URLDecoder.decode(s, "UTF-8")`. */
function javaUrlDecode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    if (s[i] === '+') {
      out += ' ';
      i++;
    } else if (s[i] === '%') {
      const bytes: number[] = [];
      while (s[i] === '%') {
        const hex = s.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) javaException('java.lang.IllegalArgumentException', `URLDecoder: Illegal hex characters in escape (%) pattern - ${hex}`);
        bytes.push(parseInt(hex, 16));
        i += 3;
      }
      out += Buffer.from(bytes).toString('utf8');
    } else out += s[i++];
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime` format: `dd/MMM/yyyy:HH:mm:ss +0000`. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

function buildContext(given: Partial<ApiGatewayContext> = {}): Map<string, unknown> {
  const requestTimeEpoch = given.requestTimeEpoch ?? Date.now();
  const context = toJavaValue({
    ...DEFAULT_CONTEXT,
    requestId: randomUUID(),
    ...given,
    identity: { ...DEFAULT_CONTEXT.identity, ...given.identity },
    requestTimeEpoch,
    requestTime: given.requestTime ?? formatRequestTime(requestTimeEpoch),
  }) as Map<string, unknown>;
  context.set('responseOverride', new Map([['header', new Map()]]));
  context.set('requestOverride', new Map([['header', new Map()], ['querystring', new Map()], ['path', new Map()]]));
  return context;
}

function readResponseOverride(context: Map<string, unknown>): Pick<RenderResult, 'statusOverride' | 'headerOverrides'> {
  const override = context.get('responseOverride');
  const headerOverrides: Record<string, string> = {};
  if (!isMap(override)) return { headerOverrides };
  const headers = override.get('header');
  if (isMap(headers)) {
    for (const [name, value] of headers) if (value !== null && value !== undefined) headerOverrides[javaToString(name)] = javaToString(value);
  }
  const status = override.get('status');
  if (status === null || status === undefined) return { headerOverrides };
  const statusOverride = Number(javaToString(status));
  if (!Number.isInteger(statusOverride)) throw new MappingTemplateError(`$context.responseOverride.status is not an integer: ${javaToString(status)}`);
  return { statusOverride, headerOverrides };
}

// ---------------------------------------------------------------------------------------------
// Parsing: velocityjs AST, with string literals brought back to Velocity 1.7
// ---------------------------------------------------------------------------------------------

interface AstNode {
  readonly type: string;
  [key: string]: unknown;
}
interface ReferenceNode extends AstNode {
  readonly type: 'references';
  readonly id: string;
  readonly leader: string;
  readonly prue?: boolean;
  readonly path?: PathNode[];
  readonly args?: AstNode[] | false;
}
type PathNode =
  | { readonly type: 'property'; readonly id: string }
  | { readonly type: 'method'; readonly id: string; readonly args?: AstNode[] | false }
  | { readonly type: 'index'; readonly id: AstNode };
interface StringNode extends AstNode {
  readonly type: 'string';
  value: string;
  readonly isEval?: boolean;
}
interface MathNode extends AstNode {
  readonly type: 'math';
  readonly operator: string;
  readonly expression: AstNode[];
}
interface SetNode extends AstNode {
  readonly type: 'set';
  readonly equal: [ReferenceNode, AstNode];
}
interface ForeachNode extends AstNode {
  readonly type: 'foreach';
  readonly from: AstNode;
  readonly to: string;
}
type TemplateItem = string | AstNode | TemplateItem[];

/** Velocity 1.7 `ASTStringLiteral.unescape`: only `\uXXXX`, and it must be four hex digits. */
function unescapeUnicode(s: string): string {
  return s.replace(/\\u(.{0,4})/g, (_, hex: string) => {
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new MappingTemplateError(`invalid \\u escape in string literal: \\u${hex}`);
    return String.fromCharCode(parseInt(hex, 16));
  });
}

/**
 * Parsed templates by their text: a stack has a handful, and local mode renders them for every
 * request (parsing was a twentieth of its event loop in a burst). Frozen, since every render
 * shares them: a render that tried to change one would fail in the tests.
 */
const parsedTemplates = new Map<string, TemplateItem[]>();
const MAX_PARSED_TEMPLATES = 256;

function parsedTemplate(template: string): TemplateItem[] {
  let asts = parsedTemplates.get(template);
  if (asts === undefined) {
    asts = deepFreeze(parseTemplate(template));
    if (parsedTemplates.size >= MAX_PARSED_TEMPLATES) parsedTemplates.clear();
    parsedTemplates.set(template, asts);
  }
  return asts;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseTemplate(template: string): TemplateItem[] {
  let asts: TemplateItem[];
  try {
    asts = parse(template) as unknown as TemplateItem[];
  } catch (error) {
    throw new MappingTemplateError(`cannot parse template: ${(error as Error).message}`, { cause: error });
  }
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as AstNode;
    if (n.type === 'string' && typeof n.value === 'string') {
      const s = n as StringNode;
      if (s.isEval) {
        // velocityjs turned every \" into "; Velocity 1.7 keeps the backslash.
        s.value = unescapeUnicode(s.value.replace(/"/g, '\\"'));
      } else if (s.value.includes("'")) {
        throw new MappingTemplateError(`single-quoted literal with \\' (Velocity 1.7 has no escapes in '...'): '${s.value}'`);
      }
      return;
    }
    Object.values(n).forEach(visit);
  };
  visit(asts);
  alignWhitespace(asts);
  return asts;
}

/**
 * Velocity 1.7's whitespace rules where velocityjs's differ: a directive also swallows a CRLF or CR
 * line end after it (velocityjs only LF), and spaces or tabs that start a token right before #set
 * belong to the #set (its token is `[ \t]*#set(`), as on a line that follows another directive.
 */
function alignWhitespace(items: TemplateItem[]): void {
  const isDirective = (item: TemplateItem | undefined): boolean =>
    Array.isArray(item) || (typeof item === 'object' && item.type !== 'references' && item.type !== 'raw');
  items.forEach((item, i) => {
    if (Array.isArray(item)) alignWhitespace(item);
    else if (typeof item === 'string' && isDirective(items[i - 1])) items[i] = item.replace(/^[ \t]*\r\n?/, '');
  });
  items.forEach((item, i) => {
    const next = items[i + 1];
    const startsToken = i === 0 || typeof items[i - 1] !== 'string';
    if (typeof item === 'string' && /^[ \t]+$/.test(item) && startsToken && typeof next === 'object' && !Array.isArray(next) && next.type === 'set') {
      items[i] = '';
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The engine: velocityjs's render loop with Velocity 1.7 evaluation
// ---------------------------------------------------------------------------------------------

/** The parts of velocityjs's Compile this subclass relies on (typed here, untyped there). */
interface VelocityjsInternals {
  context: Record<string, unknown>;
  local: Record<string, Record<string, unknown>>;
  conditions: string[];
  contextId: string;
  defines: Record<string, TemplateItem[]>;
  asts: TemplateItem[];
  runState: { stop: boolean; break: boolean };
  render(context: Record<string, unknown>, macros: Record<string, unknown>, silence: boolean): string;
  getLocal(ast: ReferenceNode): { isLocal: boolean; value: unknown };
  getContext(id: string): Record<string, unknown>;
  getMacro(ast: AstNode, bodyContent?: string): string;
  macros: Record<string, unknown>;
  macrosStore: Record<string, unknown>;
  getBlock(block: TemplateItem[]): string;
}
const VelocityjsCompile = Compile as unknown as new (asts: TemplateItem[]) => VelocityjsInternals;

const ARITHMETIC = new Set(['+', '-', '*', '/', '%', 'minus']);
const RELATIONAL = new Set(['<', '>', '<=', '>=']);
let foreachCounter = 0;

class ApiGatewayVelocityEngine extends VelocityjsCompile {
  private foreachStack: ForeachScope[] = [];

  /** velocityjs's loop, plus: `#break` stops at once, references render via {@link getReferences}. */
  renderAstList(asts: TemplateItem[] = this.asts, contextId?: string): string {
    if (contextId) {
      if (contextId !== this.contextId && !this.conditions.includes(contextId)) this.conditions.unshift(contextId);
      this.contextId = contextId;
    } else this.contextId = '';
    let out = '';
    for (const ast of asts) {
      if (this.runState.stop || this.runState.break) break;
      if (typeof ast === 'string') out += ast;
      else if (Array.isArray(ast)) out += this.getBlock(ast);
      else if (ast.type === 'references') out += this.getReferences(ast as ReferenceNode, true);
      else if (ast.type === 'set') this.setValue(ast as SetNode);
      else if (ast.type === 'break') this.runState.break = true;
      else if (ast.type === 'macro_call') out += this.getMacro(ast);
      else if (ast.type === 'raw') out += String(ast.value);
    }
    return out;
  }

  /** `#name(...)` that is neither a macro nor a directive is text in Velocity 1.7 (velocityjs: nothing). */
  getMacro(ast: AstNode, bodyContent?: string): string {
    const id = String(ast.id);
    if (!(id in this.macrosStore) && typeof this.macros[id] !== 'function') return Helper.getRefText(ast as never);
    return super.getMacro(ast, bodyContent);
  }

  /** A reference's value, or (isVal) its rendering: null renders as "" in API Gateway. */
  getReferences(ast: ReferenceNode, isVal?: boolean): unknown {
    if (ast.prue && Array.isArray(this.defines[ast.id])) return this.renderAstList(this.defines[ast.id]);
    const local = this.getLocal(ast);
    let value: unknown = local.isLocal ? local.value : this.context[ast.id];
    if (ast.args) value = undefined; // `$name()` is not a Velocity 1.7 reference
    for (const step of ast.path ?? []) {
      if (value === null || value === undefined) break;
      value = this.getAttributes(step, value);
    }
    if (!isVal) return value;
    return value === null || value === undefined ? '' : javaToString(value);
  }

  getAttributes(step: PathNode, base: unknown): unknown {
    let found: Found;
    if (step.type === 'property') found = readJavaProperty(base, step.id);
    else if (step.type === 'method') {
      const args = (step.args || []).map((arg) => this.getLiteral(arg));
      found = invokeJavaMethod(base, step.id, args);
    } else found = this.getPropIndex(step, base);
    return found === NOT_FOUND ? undefined : found;
  }

  /** `$list[i]` (negative counts from the end), `$map[key]`. */
  getPropIndex(step: { readonly id: AstNode }, base: unknown): Found {
    const key = this.getLiteral(step.id);
    if (Array.isArray(base)) {
      if (!isInt(key)) return NOT_FOUND;
      const at = key < 0 ? base.length + key : key;
      if (at < 0 || at >= base.length) javaException('java.lang.IndexOutOfBoundsException', `Index: ${key}, Size: ${base.length}`);
      return base[at];
    }
    if (isMap(base)) return base.has(key) ? base.get(key) : NOT_FOUND;
    return NOT_FOUND;
  }

  getLiteral(node: AstNode): unknown {
    switch (node.type) {
      case 'string': {
        const s = node as StringNode;
        if (s.isEval && /[$#]/.test(s.value)) return this.renderAstList(parseTemplate(s.value), this.contextId);
        return s.value;
      }
      case 'integer':
        return parseInt(String(node.value), 10);
      case 'decimal':
        return parseFloat(String(node.value));
      case 'bool':
        return node.value === 'true' ? true : node.value === 'false' ? false : null;
      case 'map':
        return new Map(Object.entries((node.value ?? {}) as Record<string, AstNode>).map(([k, v]) => [k, this.getLiteral(v)]));
      case 'array': {
        const items = node.value as (AstNode | string | number)[];
        if (node.isRange !== true) return items.map((item) => this.getLiteral(item as AstNode));
        const [from, to] = items.map((item) =>
          typeof item === 'string' ? parseInt(item, 10) : typeof item === 'number' ? item : this.getReferences(item as ReferenceNode),
        );
        if (!isInt(from) || !isInt(to)) return null;
        const range: number[] = [];
        for (let n = from; from <= to ? n <= to : n >= to; n += from <= to ? 1 : -1) range.push(n);
        return range;
      }
      case 'math':
        return this.getExpression(node);
      case 'references':
        return this.getReferences(node as ReferenceNode);
      default:
        return undefined;
    }
  }

  getExpression(node: AstNode): unknown {
    if (node.type !== 'math') return this.getLiteral(node);
    const { operator, expression } = node as MathNode;
    const [left, right] = expression;
    if (operator === 'parenthesis') return this.getExpression(left);
    if (operator === '&&' || operator === '||' || operator === 'not') return this.evaluate(node);
    if (operator === '==' || operator === '!=') {
      const equal = velocityEquals(this.getExpression(left), this.getExpression(right));
      return operator === '==' ? equal : !equal;
    }
    if (RELATIONAL.has(operator)) {
      const a = this.getExpression(left);
      const b = this.getExpression(right);
      if (typeof a !== 'number' || typeof b !== 'number') return false; // 1.7 compares numbers only
      return operator === '<' ? a < b : operator === '>' ? a > b : operator === '<=' ? a <= b : a >= b;
    }
    if (operator === 'minus') {
      const a = this.getExpression(left);
      return typeof a === 'number' ? -a : null;
    }
    return this.arithmetic(operator, left, right);
  }

  /** Velocity 1.7 math: string concatenation for +, integer arithmetic, null on anything odd. */
  private arithmetic(operator: string, leftNode: AstNode, rightNode: AstNode): unknown {
    const a = this.getExpression(leftNode);
    const b = this.getExpression(rightNode);
    if (operator === '+' && (typeof a === 'string' || typeof b === 'string')) {
      const text = (v: unknown, n: AstNode): string =>
        v === null || v === undefined ? (n.type === 'references' ? Helper.getRefText(n as never) : 'null') : javaToString(v);
      return text(a, leftNode) + text(b, rightNode);
    }
    if (typeof a !== 'number' || typeof b !== 'number') return null;
    const integers = isInt(a) && isInt(b) && leftNode.type !== 'decimal' && rightNode.type !== 'decimal';
    switch (operator) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        if (b === 0) return null;
        return integers ? Math.trunc(a / b) : a / b;
      case '%':
        if (b === 0) return null;
        return a % b;
      default:
        return null;
    }
  }

  /** Velocity 1.7 `evaluate()`: the truth of a condition. */
  private evaluate(node: AstNode): boolean {
    if (node.type === 'references') return isTruthy(this.getReferences(node as ReferenceNode));
    if (node.type === 'bool') return node.value === 'true';
    if (node.type !== 'math') return false; // literals: SimpleNode.evaluate() is false in 1.7
    const { operator, expression } = node as MathNode;
    const [left, right] = expression;
    switch (operator) {
      case 'not':
        return !this.evaluate(left);
      case '&&':
        return this.evaluate(left) && this.evaluate(right);
      case '||':
        return this.evaluate(left) || this.evaluate(right);
      case 'parenthesis':
        return this.evaluate(left);
      default:
        if (ARITHMETIC.has(operator)) return false;
        return this.getExpression(node) === true;
    }
  }

  getBlockIf(block: TemplateItem[]): string {
    let matched = false;
    const body: TemplateItem[] = [];
    for (const item of block) {
      const type = typeof item === 'object' && !Array.isArray(item) ? item.type : undefined;
      if (type === 'if' || type === 'elseif' || type === 'else') {
        if (matched) break;
        matched = type === 'else' || this.evaluate((item as AstNode).condition as AstNode);
      } else if (matched) body.push(item);
    }
    return this.renderAstList(body, this.contextId);
  }

  getBlockEach(block: TemplateItem[]): string {
    const ast = block[0] as ForeachNode;
    const source = this.getLiteral(ast.from);
    // A snapshot: Java would throw ConcurrentModificationException if the body changed the list.
    const items = Array.isArray(source) ? [...source] : isMap(source) ? [...source.values()] : [];
    if (items.length === 0) return '';
    const body = block.slice(1);
    const contextId = `foreach:apigw:${++foreachCounter}`;
    const parent = this.foreachStack[this.foreachStack.length - 1];
    const local: Record<string, unknown> = {};
    let out = '';
    for (let index = 0; index < items.length && !this.runState.break && !this.runState.stop; index++) {
      const scope = new ForeachScope(index, items.length, parent);
      local[ast.to] = items[index];
      local.foreach = scope;
      local.velocityCount = index + 1;
      local.velocityHasNext = scope.hasNext;
      this.local[contextId] = local;
      this.foreachStack.push(scope);
      try {
        out += this.renderAstList(body, contextId);
      } finally {
        this.foreachStack.pop();
      }
    }
    this.runState.break = false;
    this.local[contextId] = {};
    const at = this.conditions.indexOf(contextId);
    if (at !== -1) this.conditions.splice(at, 1);
    this.contextId = this.conditions[0] ?? '';
    return out;
  }

  /** `#set`: a null right-hand side leaves the target untouched (Velocity 1.7 default). */
  setValue(ast: SetNode): void {
    const [target, valueNode] = ast.equal;
    const value = this.getExpression(valueNode);
    if (value === null || value === undefined) return;
    const path = target.path ?? [];
    if (path.length === 0) {
      const scope = this.contextId.startsWith('macro:') ? this.context : this.getContext(target.id);
      scope[target.id] = value;
      return;
    }
    const base = this.getReferences({ ...target, path: path.slice(0, -1) });
    if (base === null || base === undefined) return; // Velocity logs and skips
    const last = path[path.length - 1];
    if (last.type === 'method') return;
    const key = last.type === 'property' ? last.id : this.getLiteral(last.id);
    if (isMap(base)) base.set(key, value);
    else if (Array.isArray(base) && isInt(key) && key >= 0 && key < base.length) base[key] = value;
  }
}
