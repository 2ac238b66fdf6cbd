/**
 * Local S3 through the real SDK client and presigner: objects round-trip with their headers,
 * presigned GET links work with a plain fetch, and keys that cannot be files are refused.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { startLocalS3 } from '../../local/s3';
import { silentLog, LocalService } from '../../local/types';

const BUCKET = 'batch-gateway-artifacts-local';
const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10]);

/** A request the SDK would not send as it is (a raw path, a Host header of our choosing). */
function raw(method: string, requestPath: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status?: number; body: string }> {
  const { port } = new URL(s3.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(method === 'PUT' ? 'x' : undefined);
  });
}

let dataDir: string;
let s3: LocalService;
let client: S3Client;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'local-s3-'));
  s3 = await startLocalS3({ dataDir, log: silentLog });
  client = new S3Client({ endpoint: s3.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client.destroy();
  await s3.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local S3', () => {
  it('stores an object under <dataDir>/s3/<bucket>/<key> and gives it back with its content type', async () => {
    // Prepare
    const key = 'run-1/barcode.png';

    // Act
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: PNG_BYTES, ContentType: 'image/png', CacheControl: 'private, max-age=60' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assess
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(PNG_BYTES);
    expect(got).toMatchObject({ ContentType: 'image/png', CacheControl: 'private, max-age=60', ETag: put.ETag, ContentLength: PNG_BYTES.length });
    expect(head).toMatchObject({ ContentType: 'image/png', ContentLength: PNG_BYTES.length, ETag: put.ETag });
    const file = path.join(dataDir, 's3', BUCKET, 'run-1', 'barcode.png');
    expect(readFileSync(file)).toEqual(PNG_BYTES);
    expect(JSON.parse(readFileSync(`${file}.meta.json`, 'utf8'))).toMatchObject({ contentType: 'image/png' });
  });

  it('decodes a stream body, which the SDK sends aws-chunked', async () => {
    // Act
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed.txt', Body: Readable.from([Buffer.from('hello '), Buffer.from('world')]), ContentLength: 11 }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'streamed.txt' }));

    // Assess
    expect(await got.Body!.transformToString()).toBe('hello world');
    expect(got.ContentEncoding).toBeUndefined();
  });

  it('serves a presigned GET URL to a plain fetch', async () => {
    // Prepare
    const key = 'run-2/a b+c.png';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: PNG_BYTES, ContentType: 'image/png' }));

    // Act
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 60 });
    const response = await fetch(url);

    // Assess
    expect(url.startsWith(`${s3.url}/${BUCKET}/`)).toBe(true);
    expect(url).toContain('X-Amz-Signature=');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG_BYTES);
  });

  it('refuses a presigned URL that has expired', async () => {
    // Prepare
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'old.png', Body: PNG_BYTES }));
    const signingDate = new Date(Date.now() - 120_000);

    // Act
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'old.png' }), { expiresIn: 60, signingDate });
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('answers NoSuchKey for a key it does not hold', async () => {
    // Act
    const result = client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'run-9/missing.png' }));

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
  });

  it('refuses a key with a .. segment, plain or percent-encoded, and writes nothing outside the bucket', async () => {
    // Act
    const result = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/../../escaped.txt', Body: 'x' })).catch((err: unknown) => err);
    const encoded = await raw('PUT', `/${BUCKET}/a/%2E%2E/%2e%2e/escaped.txt`);

    // Assess
    expect(result).toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    expect(encoded.status).toBe(400);
    expect(encoded.body).toContain('<Code>InvalidArgument</Code>');
    expect(existsSync(path.join(dataDir, 's3', 'escaped.txt'))).toBe(false);
  });

  it('understands a virtual-hosted request (Host: <bucket>.localhost)', async () => {
    // Prepare
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'vhost.txt', Body: 'virtual', ContentType: 'text/plain' }));

    // Act
    const { status, body } = await raw('GET', '/vhost.txt', { host: `${BUCKET}.localhost` });

    // Assess
    expect(status).toBe(200);
    expect(body).toBe('virtual');
  });
});
