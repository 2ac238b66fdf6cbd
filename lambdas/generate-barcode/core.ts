/**
 * The `generate-barcode` Lambda route: renders a Code 128 barcode of the request's
 * `parameters.text` as a PNG, stores it under the request's own artifacts prefix and returns a
 * presigned link to it.
 *
 * Bad parameters are the caller's fault and come back as a value (`ok: false`), so the state
 * machine marks the request REJECTED with the message. Anything else throws: a mismatched
 * artifacts prefix (a definition bug) as InvalidInputError, S3 throttling and 5xx under the
 * transient names of `surfaceAwsError` so the state machine retries them. A retry is safe: the
 * same text and scale render the same bytes to the same key.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
// Code 128 alone: bwip-js's `toBuffer` looks the encoder up by `bcid`, so a bundle using it keeps
// all 100-odd encoders (1.4 MB rather than 0.6 MB); with a named encoder esbuild drops the rest.
// esbuild resolves this to bwip-js's Node ES build (exports condition `node` + `import`), which
// exports each encoder by name and renders PNG with zlib. jest resolves it to the Node CommonJS
// build, which exports only `toBuffer`: __tests__/__mocks__/bwip-js.ts adds `code128` there, and the
// built bundle's test proves the ES export renders the same bytes (the pinned PNGs).
import { code128 } from 'bwip-js';
import * as z from 'zod/mini';
import { ENV, lambdaRouteInputSchema, type LambdaRouteResult } from '../../contract';
import { InvalidInputError, surfaceAwsError } from '../shared/aws-errors';
import { ConfigurationError } from '../shared/errors';

export const MAX_TEXT_LENGTH = 80;
export const DEFAULT_SCALE = 3;
export const MAX_SCALE = 6;
export const BARCODE_FILE_NAME = 'barcode.png';
export const BARCODE_CONTENT_TYPE = 'image/png';
export const DEFAULT_URL_EXPIRES_SECONDS = 86_400;
/** SigV4 presigned URLs live at most 7 days. */
export const MAX_URL_EXPIRES_SECONDS = 604_800;
/**
 * A presigned URL works only while the credentials that signed it do (S3 user guide, "Sharing
 * objects with presigned URLs"). When they report their expiration, the link's lifetime ends
 * this many seconds before it, for clocks that disagree a little.
 */
export const CREDENTIALS_EXPIRY_MARGIN_SECONDS = 60;
/**
 * The lifetime vouched for a link signed with temporary credentials that do not say when they
 * expire: a Lambda function's role session (AWS_SESSION_TOKEN, and no expiration among Lambda's
 * environment variables), which AWS says need not follow the role's session duration. One hour,
 * the default session of STS AssumeRole; the link may work longer, it is never advertised longer.
 */
export const UNKNOWN_SESSION_SECONDS = 3_600;

/** What the state machine hands every Lambda route; this one needs the artifacts bucket. */
export const routeInputSchema = z.extend(lambdaRouteInputSchema, {
  artifacts: z.object({
    bucket: z.string().check(z.minLength(1)),
    /** `<runRequestID>/`: the only place this route may write. */
    prefix: z.string().check(z.minLength(1)),
  }),
});
export type RouteInput = z.infer<typeof routeInputSchema>;

export interface BarcodeStored {
  readonly ok: true;
  /** Presigned GetObject URL of the PNG. */
  readonly url: string;
  /** S3 key of the PNG: `<runRequestID>/barcode.png`. */
  readonly key: string;
  readonly contentType: string;
  /** When the URL stops working, ISO 8601 UTC (the signature's second plus its lifetime). */
  readonly expiresAt: string;
}

export interface RouteRejected {
  readonly ok: false;
  readonly code: 'INVALID_INPUT';
  /** What is wrong with the request's parameters, fit to show its client. */
  readonly message: string;
}

export type GenerateBarcodeResult = (BarcodeStored | RouteRejected) & LambdaRouteResult;

/** Presigns `command` for `expiresIn` seconds with the client's credentials and region. */
export type Presign = (s3: S3Client, command: GetObjectCommand, expiresIn: number) => Promise<string>;

/** The credentials a link is signed with, as the SDK resolves them (`expiration` when they report one). */
export type SigningCredentials = () => Promise<{ readonly sessionToken?: string; readonly expiration?: Date }>;

export interface GenerateBarcodeDeps {
  readonly s3: S3Client;
  /** @default - `getSignedUrl` of @aws-sdk/s3-request-presigner */
  readonly presign?: Presign;
  /** @default - the S3 client's own credentials provider (what `presign` signs with) */
  readonly signingCredentials?: SigningCredentials;
  /** Lifetime of the presigned URL, 1 to {@link MAX_URL_EXPIRES_SECONDS}, shortened to what the signing credentials live. */
  readonly urlExpiresSeconds: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

const presignWithSdk: Presign = (s3, command, expiresIn) => getSignedUrl(s3, command, { expiresIn });

/**
 * `URL_EXPIRES_SECONDS` as a number of seconds, {@link DEFAULT_URL_EXPIRES_SECONDS} when unset.
 * Throws ConfigurationError unless it is a whole number from 1 to 604800.
 */
export function urlExpiresSecondsFrom(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_URL_EXPIRES_SECONDS;
  const seconds = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds >= 1 && seconds <= MAX_URL_EXPIRES_SECONDS)) {
    throw new ConfigurationError(`${ENV.urlExpiresSeconds} must be a whole number of seconds from 1 to ${MAX_URL_EXPIRES_SECONDS} (7 days, the SigV4 maximum); got '${raw}'`);
  }
  return seconds;
}

const TEXT_ALLOWED = `1 to ${MAX_TEXT_LENGTH} printable ASCII characters (Code 128)`;
const TEXT_RULE = `parameters.text must be ${TEXT_ALLOWED}`;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const parametersSchema = z.object({
  text: z.string({ error: (issue) => (issue.input === undefined ? `parameters.text is required: the ${TEXT_ALLOWED} to encode` : `${TEXT_RULE}; got a ${typeof issue.input}`) }).check(
    z.minLength(1, { error: `${TEXT_RULE}; got an empty string`, abort: true }),
    // Before the length, so that the count below is one of ASCII characters, never of UTF-16 units.
    z.regex(PRINTABLE_ASCII, { error: (issue) => `${TEXT_RULE}; ${firstUnprintable(String(issue.input))}`, abort: true }),
    z.maxLength(MAX_TEXT_LENGTH, { error: (issue) => `${TEXT_RULE}; got ${String(issue.input).length} characters` }),
  ),
  scale: z._default(
    z.string().check(z.regex(new RegExp(`^[1-${MAX_SCALE}]$`), { error: (issue) => `parameters.scale must be a whole number from 1 to ${MAX_SCALE}; got ${quoted(String(issue.input))}` })),
    String(DEFAULT_SCALE),
  ),
});

/** Names the first character outside printable ASCII, printing it only when it is visible. */
function firstUnprintable(text: string): string {
  let position = 0;
  for (const char of text) {
    position += 1;
    const codePoint = char.codePointAt(0)!;
    if (codePoint >= 0x20 && codePoint <= 0x7e) continue;
    const code = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
    if (/\p{Cc}/u.test(char)) return `it contains the control character ${code} at position ${position}`;
    if (/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(char)) return `it contains '${char}' (${code}) at position ${position}, which is not printable ASCII`;
    return `it contains ${code} at position ${position}, which is not printable ASCII`;
  }
  return 'it contains a character that is not printable ASCII';
}

/** A caller's value in a message: quoted, control characters escaped, bounded. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
}

/**
 * Renders the barcode of `input.parameters.text`, stores it at `<prefix>barcode.png` in the
 * artifacts bucket and returns a presigned link to it, or says what is wrong with the parameters.
 */
export async function generateBarcode(input: RouteInput, deps: GenerateBarcodeDeps): Promise<GenerateBarcodeResult> {
  const expectedPrefix = `${input.runRequestID}/`;
  if (input.artifacts.prefix !== expectedPrefix) {
    throw new InvalidInputError(`generate-barcode: artifacts.prefix must be the run request's own prefix '${expectedPrefix}'; got '${input.artifacts.prefix}'`);
  }

  const parsed = z.safeParse(parametersSchema, input.parameters ?? {});
  if (!parsed.success) {
    return { ok: false, code: 'INVALID_INPUT', message: parsed.error.issues.map((issue) => issue.message).join('; ') };
  }
  const { text, scale } = parsed.data;

  const png = await code128({
    // Ignored by the named encoder; bwip-js's types require it.
    bcid: 'code128',
    text,
    scale: Number(scale),
    height: 12,
    includetext: true,
    textxalign: 'center',
    // bwip-js draws on a transparent background by default: black bars on a dark viewer would
    // not scan. Ten modules of white either side are Code 128's quiet zone (ISO/IEC 15417).
    backgroundcolor: 'FFFFFF',
    paddingwidth: 10,
  });

  const key = `${input.artifacts.prefix}${BARCODE_FILE_NAME}`;
  // SigV4 dates are whole seconds: the URL expires its lifetime after the signing second.
  const signedAtS = Math.floor(deps.now() / 1000);
  const expiresIn = await linkLifetime(deps, signedAtS);
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: input.artifacts.bucket,
        Key: key,
        Body: png,
        ContentType: BARCODE_CONTENT_TYPE,
        // No ACL: the bucket is private with object ownership enforced; the link is the access.
        CacheControl: `private, max-age=${expiresIn}`,
      }),
    );
  } catch (err) {
    return surfaceAwsError(err, 'PutObject');
  }

  let url: string;
  try {
    url = await (deps.presign ?? presignWithSdk)(deps.s3, new GetObjectCommand({ Bucket: input.artifacts.bucket, Key: key }), expiresIn);
  } catch (err) {
    // Presigning sends nothing: only resolving credentials can fail, transiently if over the network.
    return surfaceAwsError(err, 'Presign GetObject');
  }

  return {
    ok: true,
    url,
    key,
    contentType: BARCODE_CONTENT_TYPE,
    expiresAt: new Date((signedAtS + expiresIn) * 1000).toISOString(),
  };
}

/**
 * Seconds the link is signed for: the configured lifetime, cut to what the signing credentials
 * have left (they may expire long before a day: a role session lasts hours at most).
 */
async function linkLifetime(deps: GenerateBarcodeDeps, signedAtS: number): Promise<number> {
  let credentials: Awaited<ReturnType<SigningCredentials>>;
  try {
    credentials = await (deps.signingCredentials ?? (() => deps.s3.config.credentials()))();
  } catch (err) {
    // Resolving credentials can fail transiently when it goes over the network.
    return surfaceAwsError(err, 'Resolve credentials');
  }
  let left: number = deps.urlExpiresSeconds;
  if (credentials.expiration) left = Math.floor(credentials.expiration.getTime() / 1000) - signedAtS - CREDENTIALS_EXPIRY_MARGIN_SECONDS;
  else if (credentials.sessionToken) left = UNKNOWN_SESSION_SECONDS;
  // Credentials about to expire are refreshed by the SDK before they are used: never below a second.
  return Math.max(1, Math.min(deps.urlExpiresSeconds, left));
}
