/**
 * Local mode with identities (`--identities FILE --require-signature`): SigV4 verified as API
 * Gateway's AWS_IAM does, with requests signed by independent signers (curl --aws-sigv4 and
 * botocore), so identity-bound behaviour (GET 404 for another caller, Idempotency-Key scope) runs
 * locally.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';
import { verifySigV4 } from '../../local/sigv4';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const ALICE = { accessKeyId: 'AKIDLOCALALICE0001', secretAccessKey: 'alice-secret', arn: 'arn:aws:iam::111122223333:user/alice' };
const BOB = { accessKeyId: 'AKIDLOCALBOB000002', secretAccessKey: 'bob-secret', arn: 'arn:aws:sts::111122223333:assumed-role/scheduler/bob' };
const identitiesFile = path.join(mkdtempSync(path.join(tmpdir(), 'bg-identities-')), 'identities.json');
writeFileSync(identitiesFile, JSON.stringify([ALICE, BOB]));

let local: LocalProcess;

beforeAll(async () => {
  local = await startLocalProcess('identities', undefined, ['--wait-scale', '0.01', '--identities', identitiesFile, '--require-signature']);
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

/** A request signed by curl's own SigV4 (`--aws-sigv4`): status and body. */
function curl(who: { accessKeyId: string; secretAccessKey: string }, url: string, options: { body?: string; headers?: string[]; region?: string } = {}): { status: number; body: Json } {
  const args = ['-s', '-w', '\n%{http_code}', '--aws-sigv4', `aws:amz:${options.region ?? 'us-east-1'}:execute-api`, '--user', `${who.accessKeyId}:${who.secretAccessKey}`];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', options.body);
  const out = execFileSync('curl', [...args, url], { encoding: 'utf8' });
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at) || '{}') as Json };
}

/** The same request signed by botocore (SigV4Auth, service execute-api), as a Python caller signs it. */
function botocore(who: { accessKeyId: string; secretAccessKey: string }, method: string, url: string, body?: string, mode: 'header' | 'query' = 'header'): { status: number; body: Json } {
  const script = `
import json, sys, urllib.request, urllib.error
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
method, url, key, secret, mode = sys.argv[1:6]
body = sys.stdin.read() or None
request = AWSRequest(method=method, url=url, data=body, headers={"content-type": "application/json"} if body else {})
if mode == "query":
    SigV4QueryAuth(Credentials(key, secret), "execute-api", "us-east-1", expires=60).add_auth(request)
else:
    SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(request)
prepared = request.prepare()
try:
    with urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body, headers=dict(prepared.headers), method=method)) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
`;
  const run = spawnSync('python3', ['-c', script, method, url, who.accessKeyId, who.secretAccessKey, mode], { input: body ?? '', encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`botocore: ${run.stderr}`);
  const [status, ...rest] = run.stdout.split('\n');
  return { status: Number(status), body: JSON.parse(rest.join('\n') || '{}') as Json };
}

describe('local mode verifying SigV4 (--identities, --require-signature)', () => {
  it('accepts a POST signed by curl and a GET signed by botocore, each acting as its identity', () => {
    const posted = curl(ALICE, local.runRequestsUrl, { body: JSON.stringify({ processname: 'sample', clientname: 'alice' }) });
    const read = botocore(ALICE, 'GET', `${local.runRequestsUrl}/${posted.body.runRequestID}`);

    expect(posted).toMatchObject({ status: 202, body: { status: 'ACCEPTED' } });
    expect(read).toMatchObject({ status: 200, body: { runRequestID: posted.body.runRequestID, clientname: 'alice' } });
  });

  it('accepts a GET presigned by botocore (the signature in the query string, as a $connect URL carries it)', () => {
    const posted = botocore(BOB, 'POST', local.runRequestsUrl, JSON.stringify({ processname: 'sample', clientname: 'bob' }));

    expect(botocore(BOB, 'GET', `${local.runRequestsUrl}/${posted.body.runRequestID}`, undefined, 'query')).toMatchObject({ status: 200, body: { clientname: 'bob' } });
  });

  it("answers 404 to another identity's GET, as deployed", () => {
    const posted = botocore(ALICE, 'POST', local.runRequestsUrl, JSON.stringify({ processname: 'sample', clientname: 'alice' }));

    expect(botocore(BOB, 'GET', `${local.runRequestsUrl}/${posted.body.runRequestID}`)).toEqual({ status: 404, body: { message: 'run request not found', requestId: expect.any(String) } });
  });

  it("scopes an Idempotency-Key to its caller: the same key is one run per identity", () => {
    const body = JSON.stringify({ processname: 'sample', clientname: 'both' });
    const headers = ['Idempotency-Key: shared-key-1'];
    const [a1, a2, b1] = [curl(ALICE, local.runRequestsUrl, { body, headers }), curl(ALICE, local.runRequestsUrl, { body, headers }), curl(BOB, local.runRequestsUrl, { body, headers })];

    expect([a1.status, a2.status, b1.status]).toEqual([202, 200, 202]);
    expect(a2.body.runRequestID).toBe(a1.body.runRequestID);
    expect(b1.body.runRequestID).not.toBe(a1.body.runRequestID);
  });

  it('refuses an unsigned request, a wrong secret, an unknown key and another region with 403 and their reasons', async () => {
    const unsigned = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"processname":"sample","clientname":"x"}' });
    const wrongSecret = curl({ ...ALICE, secretAccessKey: 'not-it' }, local.runRequestsUrl, { body: '{"processname":"sample","clientname":"x"}' });
    const unknown = curl({ accessKeyId: 'AKIDNOBODY00000000', secretAccessKey: 's' }, `${local.runRequestsUrl}/x`);
    const region = curl(ALICE, `${local.runRequestsUrl}/x`, { region: 'eu-west-1' });

    expect([unsigned.status, await unsigned.json()]).toEqual([403, { message: 'Missing Authentication Token' }]);
    expect(wrongSecret).toEqual({ status: 403, body: { message: expect.stringMatching(/^The request signature we calculated does not match the signature you provided/) } });
    expect(unknown).toEqual({ status: 403, body: { message: 'The security token included in the request is invalid.' } });
    expect(region).toEqual({ status: 403, body: { message: expect.stringMatching(/^Credential should be scoped to a valid region/) } });
  });
});

describe('verifySigV4', () => {
  const options = { identities: [ALICE], region: 'us-east-1', service: 'execute-api', now: Date.UTC(2026, 11, 8, 0, 0, 0) };

  it('treats a request without Authorization or X-Amz-Algorithm as unsigned', () => {
    expect(verifySigV4({ method: 'GET', rawPath: '/v1/runrequests', rawQuery: '', headers: { host: 'h' }, body: '' }, options)).toEqual({ outcome: 'unsigned' });
  });

  it('refuses a signature older than five minutes, and an Authorization header without its parts', () => {
    const headers = { host: 'h', 'x-amz-date': '20261207T235000Z', authorization: `AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/20261207/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}` };
    expect(verifySigV4({ method: 'GET', rawPath: '/', rawQuery: '', headers, body: '' }, options)).toMatchObject({ outcome: 'refused', reason: 'EXPIRED_TOKEN', message: expect.stringMatching(/^Signature expired: 20261207T235000Z is now earlier than/) });
    expect(verifySigV4({ method: 'GET', rawPath: '/', rawQuery: '', headers: { host: 'h', authorization: 'AWS4-HMAC-SHA256 Credential=x' }, body: '' }, options)).toMatchObject({
      outcome: 'refused',
      reason: 'MISSING_AUTHENTICATION_TOKEN',
      message: expect.stringContaining("requires 'SignedHeaders', 'Signature' parameter"),
    });
  });
});
