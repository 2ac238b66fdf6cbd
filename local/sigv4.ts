/**
 * SigV4 verification for local mode's APIs, against local identities: a request signed (header or
 * presigned query) with a known key acts as that identity, as API Gateway's `AWS_IAM`
 * authorization makes it `$context.identity.userArn`. Local mode only: nothing checks what the
 * identity may do (there is no IAM here), only who it is.
 *
 * Refusals carry API Gateway's own words (403). Beliefs not verified against AWS: the exact
 * wording for a malformed Authorization header and for an unknown access key.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';

/** One caller local mode knows: long-term keys and the ARN its requests act as. */
export interface LocalIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly arn: string;
}

const identitiesSchema = z.array(
  z.object({
    accessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/, 'accessKeyId: 16 to 128 of A-Z 0-9')),
    secretAccessKey: z.string().check(z.minLength(1, 'secretAccessKey: not empty')),
    arn: z.string().check(z.regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$/, 'arn: an IAM or STS ARN such as arn:aws:iam::123456789012:user/alice')),
  }),
);

/** Reads `--identities FILE`: a JSON array of `{accessKeyId, secretAccessKey, arn}`; throws a message naming what is wrong. */
export function readIdentities(file: string): LocalIdentity[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--identities ${file}: ${(error as Error).message}`);
  }
  const result = z.safeParse(identitiesSchema, parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`--identities ${file}: [${issue.path.join('.')}] ${issue.message} (a JSON array of {"accessKeyId", "secretAccessKey", "arn"})`);
  }
  const keys = result.data.map((i) => i.accessKeyId);
  const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
  if (repeated) throw new Error(`--identities ${file}: accessKeyId ${repeated} is given twice`);
  return result.data;
}

/** The request as it arrived: the raw path and query string (still percent-encoded), lower-case header names. */
export interface SignedRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

export type Verification =
  | { readonly outcome: 'unsigned' }
  | { readonly outcome: 'verified'; readonly identity: LocalIdentity }
  | { readonly outcome: 'refused'; readonly reason: 'MISSING_AUTHENTICATION_TOKEN' | 'INVALID_SIGNATURE' | 'EXPIRED_TOKEN' | 'UNRECOGNIZED_CLIENT'; readonly message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** SigV4's clock skew allowance. */
const MAX_SKEW_MS = 5 * 60 * 1000;

export interface VerifyOptions {
  readonly identities: readonly LocalIdentity[];
  readonly region: string;
  readonly service: string;
  /** @default Date.now() */
  readonly now?: number;
}

/** Checks a request's SigV4 signature (Authorization header, or X-Amz-* query parameters). */
export function verifySigV4(request: SignedRequest, options: VerifyOptions): Verification {
  const query = parseQuery(request.rawQuery);
  const presigned = query.some(([k]) => k === 'X-Amz-Algorithm');
  const header = request.headers.authorization;
  if (!presigned && header === undefined) return { outcome: 'unsigned' };

  let credential: string, signedHeaders: string, signature: string, amzDate: string | undefined;
  if (presigned) {
    const get = (name: string) => query.find(([k]) => k === name)?.[1];
    credential = get('X-Amz-Credential') ?? '';
    signedHeaders = get('X-Amz-SignedHeaders') ?? '';
    signature = get('X-Amz-Signature') ?? '';
    amzDate = get('X-Amz-Date');
    const expires = Number(get('X-Amz-Expires') ?? '0');
    const signedAt = parseAmzDate(amzDate);
    if (get('X-Amz-Algorithm') !== ALGORITHM || !credential || !signedHeaders || !signature || signedAt === undefined) {
      return refused('INVALID_SIGNATURE', `a presigned request needs X-Amz-Algorithm ${ALGORITHM}, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature`);
    }
    if ((options.now ?? Date.now()) > signedAt + expires * 1000) return refused('EXPIRED_TOKEN', `Signature expired: the presigned request was valid until ${amzDateOf(signedAt + expires * 1000)}`);
  } else {
    const fields = /^AWS4-HMAC-SHA256 (.*)$/.exec(header!.trim())?.[1];
    const part = (name: string) => (fields ? new RegExp(`(?:^|,)\\s*${name}=([^,\\s]+)`).exec(fields)?.[1] : undefined);
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((n) => part(n) === undefined);
    if (!fields || missing.length) {
      return refused('MISSING_AUTHENTICATION_TOKEN', `Authorization header requires ${missing.map((n) => `'${n}'`).join(', ') || `the ${ALGORITHM} algorithm`} parameter. Authorization=${header}`);
    }
    [credential, signedHeaders, signature] = [part('Credential')!, part('SignedHeaders')!, part('Signature')!];
    amzDate = request.headers['x-amz-date'];
  }

  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return refused('INVALID_SIGNATURE', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const now = options.now ?? Date.now();
  if (!presigned && Math.abs(now - signedAt) > MAX_SKEW_MS) {
    return refused('EXPIRED_TOKEN', `Signature expired: ${amzDate} is now earlier than ${amzDateOf(now - MAX_SKEW_MS)} (${amzDateOf(now)} - 5 min.)`);
  }
  const [accessKeyId, day, region, service, terminator] = credential.split('/');
  const identity = options.identities.find((i) => i.accessKeyId === accessKeyId);
  if (!identity) return refused('UNRECOGNIZED_CLIENT', 'The security token included in the request is invalid.');
  if (terminator !== 'aws4_request' || day !== amzDate!.slice(0, 8)) return refused('INVALID_SIGNATURE', `Credential should be scoped to a valid date and end in aws4_request (got ${credential})`);
  if (region !== options.region) return refused('INVALID_SIGNATURE', `Credential should be scoped to a valid region, not '${region}'. `);
  if (service !== options.service) return refused('INVALID_SIGNATURE', `Credential should be scoped to correct service: '${options.service}'. `);

  const names = signedHeaders.split(';');
  if (!names.includes('host')) return refused('INVALID_SIGNATURE', "'Host' must be a signed header.");
  const canonicalHeaders = names.map((n) => `${n}:${(request.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  // A presigned request too: the hash of its (empty) body, as botocore's SigV4QueryAuth signs for services other than S3.
  const payloadHash = request.headers['x-amz-content-sha256'] ?? sha256(request.body);
  const canonicalQuery = query
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [request.method, canonicalPath(request.rawPath), canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${identity.secretAccessKey}`, day), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(signature) ? signature : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refused(
      'INVALID_SIGNATURE',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { outcome: 'verified', identity };
}

function refused(reason: Extract<Verification, { outcome: 'refused' }>['reason'], message: string): Verification {
  return { outcome: 'refused', reason, message };
}

/** The query string's pairs, decoded (`+` is a space only in forms, not in SigV4's canonical query). */
function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((pair) => {
    const at = pair.indexOf('=');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    return at < 0 ? [decode(pair), ''] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
  });
}

/**
 * The canonical URI of a service other than S3: each segment of the path as sent (already
 * percent-encoded once) encoded again, as the AWS SDKs and curl sign it.
 */
function canonicalPath(rawPath: string): string {
  return rawPath.split('/').map((segment) => rfc3986(segment)).join('/') || '/';
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function parseAmzDate(text: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
