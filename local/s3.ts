/**
 * A local S3 endpoint over a directory: PutObject, GetObject and HeadObject, and presigned GET
 * links, which is what the Lambdas use. Objects live at `<dataDir>/s3/<bucket>/<key>`, their
 * headers in `<key>.meta.json` beside them. Every bucket exists (there is nothing to create).
 *
 * Requests are path-style (`/<bucket>/<key>`), which the SDK sends when the endpoint is an IP
 * address such as http://127.0.0.1:port. Virtual-hosted requests (`Host: <bucket>.localhost`,
 * what an endpoint of http://localhost:port gives) are understood too.
 *
 * No signature is checked, neither in headers nor in presigned query strings: local mode takes
 * no credentials, so there is nothing to check a signature against. A presigned link's expiry
 * (X-Amz-Date + X-Amz-Expires) is enforced, as S3 does, since a too-short expiry is a real bug.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { closeServer, listenLocally } from './listen';
import { LocalLog, LocalService } from './types';

export interface LocalS3Options {
  /** @default - a free port on 127.0.0.1 (also for 0) */
  readonly port?: number;
  /** Objects live under `<dataDir>/s3/`. */
  readonly dataDir: string;
  readonly log: LocalLog;
}

export interface LocalS3 extends LocalService {
  /** The folder a bucket's objects live in, each at its key (`<dataDir>/s3/<bucket>`). */
  bucketDir(bucket: string): string;
}

/** What the sidecar keeps: the headers a GET gives back. */
interface ObjectMeta {
  readonly contentType: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
  readonly headers: Record<string, string>;
}

const META_SUFFIX = '.meta.json';
/** Headers PutObject stores and GetObject returns as they were sent. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
/** Query parameters a presigned GET may use to override response headers. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-cache-control': 'cache-control',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
};
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.(?:localhost|127\.0\.0\.1)$/i;
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

class S3Error extends Error {
  public constructor(
    public readonly statusCode: number,
    public readonly code: string,
    message: string,
    public readonly resource?: string,
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/**
 * The SDK sends a stream body of unknown length as `Content-Encoding: aws-chunked`
 * (`<hex size>[;chunk-signature=...]\r\n<bytes>\r\n ... 0\r\n<trailers>\r\n\r\n`): decode it
 * to the object's bytes.
 */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ends inside a chunk header');
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) throw new S3Error(400, 'InvalidRequest', 'aws-chunked body has a malformed chunk size');
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (start + size > body.length) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ends inside a chunk');
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OBJECT_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () =>
      size > MAX_OBJECT_BYTES ? reject(new S3Error(400, 'EntityTooLarge', `local S3 takes objects up to ${MAX_OBJECT_BYTES} bytes`)) : resolve(Buffer.concat(chunks)),
    );
  });
}

/**
 * `<bucket>/<key>` from a path-style or a virtual-hosted request. The path is read raw: a URL
 * parser would resolve `..` (and `%2E%2E`) segments, turning one key into another silently.
 */
function locate(req: http.IncomingMessage): { bucket: string; key: string } {
  const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
  const virtual = VIRTUAL_HOST.exec(hostname);
  const rawPath = (req.url ?? '/').split('?')[0].replace(/^\//, '');
  let bucket: string;
  let rawKey: string;
  if (virtual) {
    bucket = virtual[1].toLowerCase();
    rawKey = rawPath;
  } else {
    const slash = rawPath.indexOf('/');
    bucket = slash < 0 ? rawPath : rawPath.slice(0, slash);
    rawKey = slash < 0 ? '' : rawPath.slice(slash + 1);
  }
  try {
    return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(rawKey) };
  } catch {
    throw new S3Error(400, 'InvalidURI', 'the request path is not valid percent-encoding');
  }
}

/** S3 takes any key; a key becomes a file path here, so some cannot be stored. */
function objectPath(root: string, bucket: string, key: string): string {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) throw new S3Error(400, 'InvalidBucketName', `The specified bucket is not valid: ${bucket}`, `/${bucket}`);
  const segments = key.split('/');
  const refuse = (why: string) => new S3Error(400, 'InvalidArgument', `local S3 cannot store key ${JSON.stringify(key)}: ${why}`, `/${bucket}/${key}`);
  if (Buffer.byteLength(key) > 1024) throw refuse('longer than 1024 bytes');
  if (segments.includes('..') || segments.includes('.')) throw refuse("'.' and '..' segments would leave the bucket's folder");
  if (segments.some((s) => s === '')) throw refuse('empty segments (a leading, doubled or trailing /) have no file name');
  if (key.includes('\0')) throw refuse('NUL characters');
  if (key.endsWith(META_SUFFIX)) throw refuse(`names ending in ${META_SUFFIX} are the sidecar files of other keys`);
  const bucketDir = path.join(root, bucket);
  const file = path.join(bucketDir, ...segments);
  if (!file.startsWith(bucketDir + path.sep)) throw refuse("it resolves outside the bucket's folder");
  return file;
}

function sendError(res: http.ServerResponse, err: S3Error, head: boolean): void {
  const requestId = randomUUID();
  res.writeHead(err.statusCode, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
  if (head) {
    res.end();
    return;
  }
  const resource = err.resource ? `<Resource>${xmlEscape(err.resource)}</Resource>` : '';
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${resource}<RequestId>${requestId}</RequestId></Error>`,
  );
}

/** Presigned links carry their signing time and lifetime; S3 refuses them afterwards. */
function checkExpiry(url: URL): void {
  const date = url.searchParams.get('X-Amz-Date');
  const expires = url.searchParams.get('X-Amz-Expires');
  if (!date || !expires) return;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) throw new S3Error(400, 'AuthorizationQueryParametersError', `X-Amz-Date ${date} is not an ISO 8601 basic date`);
  const signedAt = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Date.now() > signedAt + Number(expires) * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const { log } = options;
  const root = path.join(options.dataDir, 's3');
  await fs.mkdir(root, { recursive: true });

  async function putObject(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, key: string, file: string): Promise<void> {
    if (req.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', 'local S3 does not implement CopyObject');
    let body = await readBody(req);
    const encodings = (req.headers['content-encoding'] ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    if (encodings.includes('aws-chunked')) body = decodeAwsChunked(body);
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // aws-chunked is how the body travelled, not how the object is stored (S3 drops it too).
    const storedEncodings = encodings.filter((e) => e !== 'aws-chunked');
    if (storedEncodings.length) headers['content-encoding'] = storedEncodings.join(', ');
    else delete headers['content-encoding'];
    for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('x-amz-meta-') && typeof value === 'string') headers[name] = value;

    const meta: ObjectMeta = {
      contentType: req.headers['content-type'] ?? 'binary/octet-stream',
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      size: body.length,
      lastModified: new Date().toUTCString(),
      headers,
    };
    // Written aside then renamed, so a concurrent GET sees the old object or the new, never half.
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${tmp}${META_SUFFIX}`, JSON.stringify(meta, null, 1));
      await fs.writeFile(tmp, body);
      await fs.rename(`${tmp}${META_SUFFIX}`, `${file}${META_SUFFIX}`);
      await fs.rename(tmp, file);
    } catch (err) {
      await Promise.all([fs.rm(tmp, { force: true }), fs.rm(`${tmp}${META_SUFFIX}`, { force: true })]);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
        throw new S3Error(400, 'InvalidArgument', `local S3 cannot store key ${JSON.stringify(key)}: a key cannot also be the folder of another (as "a" and "a/b")`, `/${bucket}/${key}`);
      }
      throw err;
    }
    log('object stored', { bucket, key, size: body.length, contentType: meta.contentType });
    res.writeHead(200, { etag: meta.etag, 'x-amz-request-id': randomUUID() }).end();
  }

  async function getObject(res: http.ServerResponse, url: URL, bucket: string, key: string, file: string, head: boolean): Promise<void> {
    checkExpiry(url);
    const notFound = new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', `/${bucket}/${key}`);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) throw notFound;
    const meta = await fs
      .readFile(`${file}${META_SUFFIX}`, 'utf8')
      .then((text) => JSON.parse(text) as ObjectMeta)
      .catch(() => undefined);
    const headers: Record<string, string | number> = {
      'content-type': meta?.contentType ?? 'binary/octet-stream',
      'content-length': stat.size,
      'last-modified': meta?.lastModified ?? stat.mtime.toUTCString(),
      'x-amz-request-id': randomUUID(),
      ...(meta?.headers ?? {}),
    };
    if (meta?.etag) headers.etag = meta.etag;
    for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = url.searchParams.get(param);
      if (value !== null) headers[header] = value;
    }
    res.writeHead(200, headers);
    if (head) {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(file);
      stream.on('error', reject);
      res.on('close', resolve);
      stream.pipe(res);
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const { bucket, key } = locate(req);
      if (!bucket || !key) throw new S3Error(501, 'NotImplemented', `local S3 implements object operations only (PUT, GET, HEAD /<bucket>/<key>), not ${req.method} ${req.url}`);
      const file = objectPath(root, bucket, key);
      if (req.method === 'PUT') await putObject(req, res, bucket, key, file);
      else if (req.method === 'GET' || head) await getObject(res, url, bucket, key, file, head);
      else throw new S3Error(501, 'NotImplemented', `local S3 does not implement ${req.method} on objects`);
    } catch (err) {
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof S3Error) {
        sendError(res, err, head);
      } else {
        log('request failed', { method: req.method, url: req.url, error: (err as Error).message });
        sendError(res, new S3Error(500, 'InternalError', 'local S3 failed to handle the request'), head);
      }
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  const url = await listenLocally(server, options.port);
  log('s3 started', { url, root });

  return {
    url,
    bucketDir: (bucket) => path.join(root, bucket),
    close: () => closeServer(server),
  };
}
