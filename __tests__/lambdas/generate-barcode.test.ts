import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PNG } from 'pngjs';
import { TRANSIENT_ERROR_NAMES } from '../../contract';
import { AwsServiceError, InvalidInputError, ThrottledError } from '../../lambdas/shared/aws-errors';
import { ConfigurationError } from '../../lambdas/shared/errors';
import { logger } from '../../lambdas/shared/logger';
import { parseInput } from '../../lambdas/shared/parse-input';
import {
  BarcodeStored,
  generateBarcode,
  GenerateBarcodeDeps,
  GenerateBarcodeResult,
  Presign,
  RouteInput,
  routeInputSchema,
  urlExpiresSecondsFrom,
} from '../../lambdas/generate-barcode/core';
import { lambdaBundleDir } from '../../modules/shared/bundles';
import { lambdaContext } from '../helpers/lambda-context';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'barcode');
/** A fresh copy each time, so a test can change it without affecting the others. */
function fixture<T = Record<string, any>>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

const RUN_REQUEST_ID = '6c1b5e0a-3f5d-4f7e-9a53-2b8e1f0c4d21';
const BUCKET = 'batch-gateway-artifacts-123456789012';
const KEY = `${RUN_REQUEST_ID}/barcode.png`;
// 2024-06-10T06:21:07.300Z; the URL's signature dates from the whole second.
const NOW_MS = 1718000467300;
const DAY_S = 86_400;
const EXPIRES_AT = '2024-06-11T06:21:07.000Z';
const PRESIGNED_URL = `https://${BUCKET}.s3.eu-west-1.amazonaws.com/${KEY}?X-Amz-Expires=86400&X-Amz-Signature=stub`;
// Fake static credentials (AWS's documentation example): the signature is computed offline.
const FAKE_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

const TEXT_RULE = 'parameters.text must be 1 to 80 printable ASCII characters (Code 128)';
/** Code 128 draws every character of code set A or B in 11 modules, around 35 of start, check and stop. */
const modulesOfLetters = (n: number) => 11 * n + 35;
/** The 10-module quiet zone bwip-js pads on either side. */
const QUIET_ZONE = 10;

/** Every printable ASCII character, padded to the 80 allowed: code sets A and B, shifts included. */
const ALL_PRINTABLE = ` !"#$%&'()*+,-./09:;<=>?@AZ[\\]^_\`az{|}~`.padEnd(80, 'x');
/**
 * SHA-256 of the PNG bytes and of the decoded RGBA pixels, recorded from bwip-js 4.11.4 on Node 22:
 * any change to how the barcode is rendered (another bwip-js entry point, version or option) must
 * leave the stored object as it was. The bytes also depend on Node's zlib: if only `png` differs
 * after a Node upgrade and `pixels` still matches, the image is the same and only its compression moved.
 */
const PINNED_PNGS = {
  'HELLO-123@3': { width: 462, height: 126, png: 'ae2988c38dea560744dcb47afaa039ce225978a372731b84371bcd4c434f40f2', pixels: '9ba66bfa083cffaf05838c5be8fcf0c56f871aec2ed99eb504ebd4c0fc5163b7' },
  'ALL_PRINTABLE@6': { width: 5610, height: 263, png: 'b31c10de644760fd4ac65b0ad62abdc6f16ce1220e0e16ff8d4c2896a421867b', pixels: 'faf0e02510380b1f48ed9f47e600be41ae14addb5839c245b8e0d608fd137ca2' },
  '0123456789012345@1': { width: 143, height: 43, png: 'e35c08f8a584af43206dee08f8ecc0e7219d644c5fb0263471620135917197ab', pixels: 'b2ca52cb64bbc5197bf74bafb6b799f30ffa569fa86908c07160289d3739df3d' },
};

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** What {@link PINNED_PNGS} records of a PNG. */
function fingerprint(png: Buffer) {
  const decoded = PNG.sync.read(png);
  return { width: decoded.width, height: decoded.height, png: sha256(png), pixels: sha256(decoded.data) };
}

const s3Mock = mockClient(S3Client);
let presign: jest.MockedFunction<Presign>;

/** The route input as the handler hands it to the core (parsed). */
function routeInput(change: (raw: Record<string, any>) => void = () => undefined): RouteInput {
  const raw = fixture('route-input.json');
  change(raw);
  return parseInput(routeInputSchema, raw, 'test');
}

function withParameters(parameters: Record<string, string> | undefined): RouteInput {
  return routeInput((raw) => {
    if (parameters === undefined) delete raw.parameters;
    else raw.parameters = parameters;
  });
}

function deps(overrides: Partial<GenerateBarcodeDeps> = {}): GenerateBarcodeDeps {
  return { s3: new S3Client({ region: 'eu-west-1', credentials: FAKE_CREDENTIALS }), presign, urlExpiresSeconds: DAY_S, now: () => NOW_MS, ...overrides };
}

function stored(result: GenerateBarcodeResult): BarcodeStored {
  if (!result.ok) throw new Error(`expected a stored barcode, got: ${result.message}`);
  return result;
}

function puts() {
  return s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
}

/** The PNG of the only PutObject, decoded. */
function storedPng(): PNG {
  const sent = puts();
  expect(sent).toHaveLength(1);
  return PNG.sync.read(sent[0].Body as Buffer);
}

/** Renders `parameters` through the core and decodes what it stored. */
async function render(parameters: Record<string, string>): Promise<PNG> {
  s3Mock.resetHistory();
  stored(await generateBarcode(withParameters(parameters), deps()));
  return storedPng();
}

interface PixelCounts {
  dark: number;
  light: number;
  other: number;
}

/** Opaque black-ish and white-ish pixels; anything else (transparent, grey) is `other`. */
function countPixels(png: PNG): PixelCounts {
  const counts = { dark: 0, light: 0, other: 0 };
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b, a] = [png.data[i], png.data[i + 1], png.data[i + 2], png.data[i + 3]];
    if (a === 255 && r < 64 && g < 64 && b < 64) counts.dark += 1;
    else if (a === 255 && r > 191 && g > 191 && b > 191) counts.light += 1;
    else counts.other += 1;
  }
  return counts;
}

function isDark(png: PNG, x: number, y: number): boolean {
  const i = (png.width * y + x) * 4;
  return png.data[i + 3] === 255 && png.data[i] < 128;
}

function s3Error(name: string, httpStatusCode: number, message: string): S3ServiceException {
  return new S3ServiceException({ name, message, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

beforeEach(() => {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({ ETag: '"9b2cf535f27731c974343645a3985328"' });
  presign = jest.fn<ReturnType<Presign>, Parameters<Presign>>().mockResolvedValue(PRESIGNED_URL);
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('generateBarcode', () => {
  test('stores one private PNG under the request prefix and returns a presigned link to it', async () => {
    // Prepare
    const d = deps();

    // Act
    const result = await generateBarcode(routeInput(), d);

    // Assess
    expect(result).toEqual({ ok: true, url: PRESIGNED_URL, key: KEY, contentType: 'image/png', expiresAt: EXPIRES_AT });
    const sent = puts();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual({ Bucket: BUCKET, Key: KEY, Body: expect.any(Buffer), ContentType: 'image/png', CacheControl: 'private, max-age=86400' });
    expect(sent[0]).not.toHaveProperty('ACL');
    expect(presign).toHaveBeenCalledTimes(1);
    const [client, command, expiresIn] = presign.mock.calls[0];
    expect(client).toBe(d.s3);
    expect(command).toBeInstanceOf(GetObjectCommand);
    expect(command.input).toEqual({ Bucket: BUCKET, Key: KEY });
    expect(expiresIn).toBe(DAY_S);
  });

  test('stores a PNG of the known size for HELLO-123 at the default scale 3, black on opaque white', async () => {
    // Act
    await generateBarcode(routeInput(), deps());

    // Assess
    const png = storedPng();
    // (134 modules + 2 × 10 of quiet zone) × 3; 12 mm of bars plus the text line, × 3.
    expect([png.width, png.height]).toEqual([462, 126]);
    const pixels = countPixels(png);
    expect(pixels.dark).toBeGreaterThan(0.2 * png.width * png.height);
    expect(pixels.light).toBeGreaterThan(0.4 * png.width * png.height);
    // Anti-aliased edges of the human-readable text only: no transparency (bwip-js's default).
    expect(pixels.other).toBeLessThan(0.02 * png.width * png.height);
  });

  test('keeps a white quiet zone of 10 modules either side, with bars about 12 mm (34 px at 72 dpi) tall', async () => {
    // Act
    const png = await render({ text: 'HELLO-123', scale: '2' });

    // Assess
    const darkColumns = Array.from({ length: png.width }, (_, x) => x).filter((x) => Array.from({ length: png.height }, (_, y) => y).some((y) => isDark(png, x, y)));
    const [first, last] = [darkColumns[0], darkColumns[darkColumns.length - 1]];
    expect(first).toBe(QUIET_ZONE * 2);
    expect(png.width - 1 - last).toBe(QUIET_ZONE * 2);
    // The start character opens with a bar two modules wide, from the top down to the text line.
    const barHeight = Array.from({ length: png.height }, (_, y) => y).filter((y) => isDark(png, first, y)).length;
    expect(Math.abs(barHeight - Math.round((12 / 25.4) * 72 * 2))).toBeLessThanOrEqual(1);
  });

  test.each([
    [1, 1],
    [1, 6],
    [10, 2],
    [10, 5],
    [80, 1],
    [80, 6],
  ])('draws %i letters at scale %i as 11 modules a letter plus start, check, stop and quiet zones, × scale', async (letters, scale) => {
    // Act
    const png = await render({ text: 'A'.repeat(letters), scale: String(scale) });

    // Assess
    expect(png.width).toBe((modulesOfLetters(letters) + 2 * QUIET_ZONE) * scale);
    expect(Math.abs(png.height - 42 * scale)).toBeLessThanOrEqual(2);
  });

  test('grows wider with the text and with the scale, and taller only with the scale', async () => {
    // Act
    const sizes: Record<string, [number, number]> = {};
    for (const [text, scale] of [['abc', '3'], ['abcdef', '3'], ['abc', '4']]) {
      const png = await render({ text, scale });
      sizes[`${text}@${scale}`] = [png.width, png.height];
    }

    // Assess
    expect(sizes['abcdef@3'][0]).toBeGreaterThan(sizes['abc@3'][0]);
    expect(sizes['abcdef@3'][1]).toBe(sizes['abc@3'][1]);
    expect(sizes['abc@4'][0]).toBeGreaterThan(sizes['abc@3'][0]);
    expect(sizes['abc@4'][1]).toBeGreaterThan(sizes['abc@3'][1]);
  });

  test('accepts exactly 80 printable ASCII characters, spaces and symbols included', async () => {
    // Prepare
    const text = ALL_PRINTABLE;
    expect(text).toHaveLength(80);

    // Act
    const result = await generateBarcode(withParameters({ text }), deps());

    // Assess
    expect(result.ok).toBe(true);
    expect(puts()).toHaveLength(1);
  });

  test.each([
    { name: 'HELLO-123', text: 'HELLO-123', scale: '3', pinned: PINNED_PNGS['HELLO-123@3'] },
    { name: 'every printable character', text: ALL_PRINTABLE, scale: '6', pinned: PINNED_PNGS['ALL_PRINTABLE@6'] },
    { name: 'sixteen digits (code set C)', text: '0123456789012345', scale: '1', pinned: PINNED_PNGS['0123456789012345@1'] },
  ])('renders $name at scale $scale to the pinned PNG, byte for byte', async ({ text, scale, pinned }) => {
    // Act
    await generateBarcode(withParameters({ text, scale }), deps());

    // Assess
    expect(fingerprint(puts()[0].Body as Buffer)).toEqual(pinned);
  });

  test('renders the same bytes for the same request, so that a retried execution overwrites the object with itself', async () => {
    // Act
    await generateBarcode(routeInput(), deps());
    await generateBarcode(routeInput(), deps());

    // Assess
    const [first, second] = puts().map((input) => input.Body as Buffer);
    expect(first.equals(second)).toBe(true);
  });

  test('caches the object no longer than the link lives, and dates the expiry from the whole second of signing', async () => {
    // Act: signed at 06:21:07.900
    const result = stored(await generateBarcode(routeInput(), deps({ urlExpiresSeconds: 900, now: () => NOW_MS + 600 })));

    // Assess
    expect(puts()[0].CacheControl).toBe('private, max-age=900');
    expect(presign.mock.calls[0][2]).toBe(900);
    expect(result.expiresAt).toBe('2024-06-10T06:36:07.000Z');
  });

  test('never advertises a link longer than the credentials that sign it live: credentials expiring in 1 h give a link of less than 1 h', async () => {
    // Prepare: temporary credentials that expire an hour from now, a configured lifetime of a day.
    const expiration = new Date(NOW_MS + 3_600_000);
    const signingCredentials = async () => ({ ...FAKE_CREDENTIALS, sessionToken: 'session', expiration });

    // Act
    const result = stored(await generateBarcode(routeInput(), deps({ signingCredentials })));

    // Assess: a minute's margin before the credentials expire, from the whole second of signing.
    expect(presign.mock.calls[0][2]).toBe(3_540);
    expect(Date.parse(result.expiresAt)).toBeLessThanOrEqual(expiration.getTime());
    expect(result.expiresAt).toBe('2024-06-10T07:20:07.000Z');
    expect(puts()[0].CacheControl).toBe('private, max-age=3540');
  });

  test("vouches for at most an hour with temporary credentials that do not say when they expire (a Lambda role's session)", async () => {
    const signingCredentials = async () => ({ ...FAKE_CREDENTIALS, sessionToken: 'session' });

    const result = stored(await generateBarcode(routeInput(), deps({ signingCredentials })));

    expect(presign.mock.calls[0][2]).toBe(3_600);
    expect(result.expiresAt).toBe('2024-06-10T07:21:07.000Z');
  });

  test('keeps the configured lifetime when the credentials outlive it, and reads them from the S3 client by default', async () => {
    const week = async () => ({ ...FAKE_CREDENTIALS, sessionToken: 'session', expiration: new Date(NOW_MS + 7 * DAY_S * 1000) });
    expect(stored(await generateBarcode(routeInput(), deps({ signingCredentials: week }))).expiresAt).toBe(EXPIRES_AT);

    // The client's own provider: static credentials, which do not expire.
    const client = new S3Client({ region: 'eu-west-1', credentials: { ...FAKE_CREDENTIALS, sessionToken: 'session', expiration: new Date(NOW_MS + 1_800_000) } });
    const result = stored(await generateBarcode(routeInput(), deps({ s3: client })));
    expect(presign.mock.calls[1][2]).toBe(1_740);
    expect(result.expiresAt).toBe('2024-06-10T06:50:07.000Z');
  });

  test('fails transiently when the signing credentials cannot be resolved, before storing anything', async () => {
    const signingCredentials = async () => {
      throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError', $metadata: {} });
    };

    await expect(generateBarcode(routeInput(), deps({ signingCredentials }))).rejects.toMatchObject({ name: 'AwsServiceError' });
    expect(puts()).toEqual([]);
    expect(presign).not.toHaveBeenCalled();
  });

  test.each([
    ['no parameters at all', undefined, `parameters.text is required: the 1 to 80 printable ASCII characters (Code 128) to encode`],
    ['parameters without text', { scale: '2' }, `parameters.text is required: the 1 to 80 printable ASCII characters (Code 128) to encode`],
    ['an empty text', { text: '' }, `${TEXT_RULE}; got an empty string`],
    ['81 characters', { text: 'A'.repeat(81) }, `${TEXT_RULE}; got 81 characters`],
    ['an accented letter', { text: 'Café' }, `${TEXT_RULE}; it contains 'é' (U+00E9) at position 4, which is not printable ASCII`],
    ['a line feed', { text: 'line 1\nline 2' }, `${TEXT_RULE}; it contains the control character U+000A at position 7`],
    ['DEL', { text: 'a\u007f' }, `${TEXT_RULE}; it contains the control character U+007F at position 2`],
    ['an emoji, counted as one character', { text: 'ok 👍' }, `${TEXT_RULE}; it contains '👍' (U+1F44D) at position 4, which is not printable ASCII`],
    ['a no-break space, named but not printed', { text: 'a\u00a0b' }, `${TEXT_RULE}; it contains U+00A0 at position 2, which is not printable ASCII`],
    ['scale 9', { text: 'HELLO', scale: '9' }, 'parameters.scale must be a whole number from 1 to 6; got "9"'],
    ['scale 0', { text: 'HELLO', scale: '0' }, 'parameters.scale must be a whole number from 1 to 6; got "0"'],
    ['a fractional scale', { text: 'HELLO', scale: '2.5' }, 'parameters.scale must be a whole number from 1 to 6; got "2.5"'],
    ['a long scale, cut short', { text: 'HELLO', scale: '3'.repeat(50) }, `parameters.scale must be a whole number from 1 to 6; got "${'3'.repeat(20)}…"`],
    ['both a bad text and a bad scale', { text: '', scale: 'big' }, `${TEXT_RULE}; got an empty string; parameters.scale must be a whole number from 1 to 6; got "big"`],
  ])('returns INVALID_INPUT for %s, and writes and signs nothing', async (_label, parameters, message) => {
    // Act
    const result = await generateBarcode(withParameters(parameters), deps());

    // Assess
    expect(result).toEqual({ ok: false, code: 'INVALID_INPUT', message });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(presign).not.toHaveBeenCalled();
  });

  test.each([
    ["another request's prefix", 'd41e7b2a-93c5-4f08-b6a1-7e5c2d9f0a13/'],
    ['the id without its slash', RUN_REQUEST_ID],
    ['a path that climbs out', `${RUN_REQUEST_ID}/../d41e7b2a-93c5-4f08-b6a1-7e5c2d9f0a13/`],
    ['the bucket root', '/'],
  ])('throws InvalidInputError for %s as the artifacts prefix, before validating or writing anything', async (_label, prefix) => {
    // Prepare: the text is bad too, to show the prefix is checked first.
    const input = routeInput((raw) => {
      raw.artifacts.prefix = prefix;
      raw.parameters = { text: '' };
    });

    // Act
    const result = generateBarcode(input, deps());

    // Assess
    await expect(result).rejects.toThrow(InvalidInputError);
    await expect(result).rejects.toMatchObject({ message: `generate-barcode: artifacts.prefix must be the run request's own prefix '${RUN_REQUEST_ID}/'; got '${prefix}'` });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test.each([
    ['SlowDown (503)', () => s3Error('SlowDown', 503, 'Please reduce your request rate.'), AwsServiceError],
    ['a 429', () => s3Error('TooManyRequests', 429, 'Too Many Requests'), ThrottledError],
    ['InternalError (500)', () => s3Error('InternalError', 500, 'We encountered an internal error. Please try again.'), AwsServiceError],
  ])('throws a transient error the state machine retries when PutObject fails with %s, and signs no link', async (_label, makeError, expected) => {
    // Prepare
    const failure = makeError();
    s3Mock.on(PutObjectCommand).rejects(failure);

    // Act
    const result = generateBarcode(routeInput(), deps());

    // Assess
    await expect(result).rejects.toThrow(expected);
    await expect(result).rejects.toMatchObject({ cause: failure });
    const name = await result.catch((err: Error) => err.name);
    expect(TRANSIENT_ERROR_NAMES).toContain(name);
    expect(presign).not.toHaveBeenCalled();
  });

  test('rethrows AccessDenied as it is: a missing grant, not transient', async () => {
    // Prepare
    const denied = s3Error('AccessDenied', 403, 'Access Denied');
    s3Mock.on(PutObjectCommand).rejects(denied);

    // Act
    const result = generateBarcode(routeInput(), deps());

    // Assess
    await expect(result).rejects.toBe(denied);
    expect(TRANSIENT_ERROR_NAMES).not.toContain(denied.name);
  });

  test("signs a real SigV4 link (no network) valid 86400 s for the object's key, when no presign is injected", async () => {
    // Prepare
    const { presign: _stub, ...real } = deps({ now: () => Date.now() });

    // Act
    const result = stored(await generateBarcode(routeInput(), real));

    // Assess
    const url = new URL(result.url);
    expect(url.origin).toBe(`https://${BUCKET}.s3.eu-west-1.amazonaws.com`);
    expect(url.pathname).toBe(`/${KEY}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('86400');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // expiresAt is the signing second plus the lifetime (the clock may tick once in between).
    const amzDate = url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
    const lag = Date.parse(amzDate) + DAY_S * 1000 - Date.parse(result.expiresAt);
    expect([0, 1000]).toContain(lag);
  });
});

describe('urlExpiresSecondsFrom', () => {
  test.each([
    [undefined, 86_400],
    ['', 86_400],
    ['1', 1],
    ['3600', 3600],
    ['604800', 604_800],
  ])('reads %p as %i seconds', (raw, seconds) => {
    // Act & Assess
    expect(urlExpiresSecondsFrom(raw)).toBe(seconds);
  });

  test.each(['0', '604801', '1.5', '-60', ' 60', '1e3', 'a day'])('throws ConfigurationError for %p, naming the allowed range', (raw) => {
    // Act & Assess
    expect(() => urlExpiresSecondsFrom(raw)).toThrow(ConfigurationError);
    expect(() => urlExpiresSecondsFrom(raw)).toThrow(`URL_EXPIRES_SECONDS must be a whole number of seconds from 1 to 604800 (7 days, the SigV4 maximum); got '${raw}'`);
  });
});


describe('handler', () => {
  const saved = { ...process.env };

  /** Loaded after the environment is set: the handler reads it on first use. */
  function loadHandler(): typeof import('../../lambdas/generate-barcode/handler').handler {
    return (require('../../lambdas/generate-barcode/handler') as typeof import('../../lambdas/generate-barcode/handler')).handler;
  }

  beforeAll(() => {
    process.env.URL_EXPIRES_SECONDS = '3600';
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
  });

  afterAll(() => {
    process.env = saved;
  });

  test('stores the barcode of the event and returns a link valid URL_EXPIRES_SECONDS', async () => {
    // Prepare
    const handler = loadHandler();

    // Act
    const result = stored(await handler(fixture('route-input.json'), lambdaContext('batch-gateway-generate-barcode')));

    // Assess
    expect(puts()).toEqual([expect.objectContaining({ Bucket: BUCKET, Key: KEY, ContentType: 'image/png', CacheControl: 'private, max-age=3600' })]);
    expect(result).toMatchObject({ ok: true, key: KEY, contentType: 'image/png' });
    expect(new URL(result.url).searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(logger.info).toHaveBeenCalledWith('Barcode stored', { key: KEY, expiresAt: result.expiresAt });
  });

  test('returns the rejection of bad parameters as its result, and logs it as a warning', async () => {
    // Prepare
    const handler = loadHandler();
    const event = fixture('route-input.json');
    event.parameters.text = 'Café';

    // Act
    const result = await handler(event, lambdaContext('batch-gateway-generate-barcode'));

    // Assess
    expect(result).toMatchObject({ ok: false, code: 'INVALID_INPUT', message: expect.stringContaining("'é' (U+00E9)") });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(logger.warn).toHaveBeenCalledWith('Barcode request rejected', { code: 'INVALID_INPUT', reason: (result as { message: string }).message });
  });

  test('rejects an event without artifacts with InvalidInputError naming the path, before any AWS call', async () => {
    // Prepare
    const handler = loadHandler();
    const event = fixture('route-input.json');
    delete event.artifacts;

    // Act
    const result = handler(event, lambdaContext('batch-gateway-generate-barcode'));

    // Assess
    await expect(result).rejects.toThrow(InvalidInputError);
    await expect(result).rejects.toMatchObject({ message: expect.stringContaining('artifacts: expected object') });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('logs and rethrows a transient S3 failure', async () => {
    // Prepare
    const handler = loadHandler();
    s3Mock.on(PutObjectCommand).rejects(s3Error('SlowDown', 503, 'Please reduce your request rate.'));

    // Act & Assess
    await expect(handler(fixture('route-input.json'), lambdaContext('batch-gateway-generate-barcode'))).rejects.toThrow(AwsServiceError);
    expect(logger.error).toHaveBeenCalledWith('Barcode failed', { error: expect.any(AwsServiceError) });
  });
});

interface CapturedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('the built bundle (dist/bundles/generate-barcode, from `npm run build`)', () => {
  /**
   * Runs the bundle in a plain Node process, the way Lambda loads it, against a local HTTP
   * server standing in for S3: proves esbuild picked bwip-js's Node build (PNG through zlib,
   * not the browser's canvas) and that the whole route works once bundled and minified.
   */
  test('loads in Node, renders the PNG and stores it with PutObject', async () => {
    // Prepare
    const bundle = path.join(lambdaBundleDir('generate-barcode'), 'index.js');
    const requests: CapturedRequest[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { ETag: '"9b2cf535f27731c974343645a3985328"' });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      const context = ${JSON.stringify({ awsRequestId: 'bundle-test', functionName: 'generate-barcode', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:generate-barcode', memoryLimitInMB: '256' })};
      context.getRemainingTimeInMillis = () => 60000;
      handler(${JSON.stringify(fixture('route-input.json'))}, context).then(
        (result) => process.stdout.write(JSON.stringify(result)),
        (err) => { console.error(err); process.exit(1); },
      );`;

    // Act
    let stdout: string;
    try {
      stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['-e', script],
          {
            // Only what the function needs: the fake credentials sign offline, the endpoint is local (an IP, so path-style).
            env: {
              PATH: process.env.PATH,
              AWS_REGION: 'eu-west-1',
              AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
              AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
              AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
              URL_EXPIRES_SECONDS: '600',
              POWERTOOLS_LOG_LEVEL: 'SILENT',
            },
            timeout: 30_000,
          },
          (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
        ),
      );
    } finally {
      server.close();
    }

    // Assess
    const result = JSON.parse(stdout) as BarcodeStored;
    expect(result).toMatchObject({ ok: true, key: KEY, contentType: 'image/png' });
    expect(new URL(result.url).searchParams.get('X-Amz-Expires')).toBe('600');
    expect(requests).toHaveLength(1);
    const [put] = requests;
    expect(put.method).toBe('PUT');
    expect(put.url.split('?')[0]).toBe(`/${BUCKET}/${KEY}`);
    expect(put.headers['content-type']).toBe('image/png');
    // The bundle renders with bwip-js's ES build, the tests above with its CommonJS one: the same image.
    expect(fingerprint(put.body)).toEqual(PINNED_PNGS['HELLO-123@3']);
  });
});
