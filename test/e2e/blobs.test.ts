/**
 * Test data uploaded once: the blob API end to end (a real server, Redis and sandboxes), and jobs
 * that read a blob as their stdin or as a file, the bytes arriving intact.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const MiB = 1024 * 1024;
const MAX_BLOB = 8 * MiB;

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_BLOB_MAX_BYTES: String(MAX_BLOB) } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blobUrl(digest?: string): string {
  return `${server.url}/v1/blobs${digest === undefined ? '' : `/${digest}`}`;
}

async function upload(bytes: Buffer, method = 'POST', digest?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(blobUrl(digest), { method, headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
  return { status: res.status, json: await res.json() };
}

async function runJob(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function blobFiles(): string[] {
  const dir = join(server.dataDir, 'blobs');
  return ['sha256', 'tmp'].flatMap((d) => {
    try {
      return readdirSync(join(dir, d)).map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  });
}

describe('the blob API', () => {
  it('POST stores the bytes and names them by their sha256; GET gives them back; HEAD gives the size', async () => {
    const bytes = randomBytes(300_000);
    const { status, json } = await upload(bytes);
    assert.equal(status, 201);
    assert.deepEqual(json, { digest: digestOf(bytes), size: bytes.length });
    const got = await fetch(blobUrl(json.digest));
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-length'), String(bytes.length));
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes));
    const head = await fetch(blobUrl(json.digest), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
  });

  it('PUT verifies the digest it claims: 201, then 200 when held already; a mismatch is 422 and keeps nothing', async () => {
    const bytes = randomBytes(1000);
    const digest = digestOf(bytes);
    assert.equal((await upload(bytes, 'PUT', digest)).status, 201);
    const again = await upload(bytes, 'PUT', digest);
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { digest, size: 1000 });
    const other = randomBytes(1000);
    const wrong = await upload(other, 'PUT', digest.replace(/.$/, (c) => (c === '0' ? '1' : '0')));
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json.error.code, 'digest_mismatch');
    assert.equal(wrong.json.error.actual, digestOf(other));
    assert.equal((await fetch(blobUrl(digestOf(other)))).status, 404);
    assert.ok(!blobFiles().some((f) => f.endsWith(digestOf(other).slice(7))));
  });

  it('refuses a blob above WARMBOX_BLOB_MAX_BYTES with 413, declared or streamed, and leaves no file', async () => {
    const before = blobFiles();
    const big = Buffer.alloc(MAX_BLOB + 1, 7);
    const declared = await upload(big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error.code, 'payload_too_large');
    assert.equal(declared.json.error.maximum, MAX_BLOB);
    // Without a Content-Length (chunked), it stops at the byte that crosses the bound.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 9; i++) c.enqueue(new Uint8Array(MiB));
        c.close();
      },
    });
    const res = await fetch(blobUrl(), { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.deepEqual(blobFiles(), before);
  });

  it('a malformed digest is 400, an unknown one 404, and DELETE removes the blob from your view', async () => {
    const bad = await fetch(blobUrl('sha256:xyz'));
    assert.equal(bad.status, 400);
    const unknown = await fetch(blobUrl(`sha256:${'a'.repeat(64)}`));
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as any).error.code, 'blob_not_found');
    const { json } = await upload(randomBytes(10));
    assert.equal((await fetch(blobUrl(json.digest), { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(blobUrl(json.digest))).status, 404);
    assert.equal((await fetch(blobUrl(json.digest), { method: 'DELETE' })).status, 404);
  });
});

describe('jobs that reference blobs', () => {
  it('read a 4 MiB blob on stdin, intact', async () => {
    const bytes = randomBytes(4 * MiB);
    const { json: blob } = await upload(bytes);
    const { status, json } = await runJob({ image: 'busybox', cmd: ['sh', '-c', 'cat > /tmp/in; sha256sum < /tmp/in | cut -d" " -f1; wc -c < /tmp/in'], stdin: { blob: blob.digest } });
    assert.equal(status, 200);
    assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
    assert.equal(json.result.stdout, `${blob.digest.slice(7)}\n${bytes.length}\n`);
  });

  it('read a blob as a file beside inline ones, with its mode', async () => {
    const bytes = randomBytes(2 * MiB);
    const { json: blob } = await upload(bytes);
    const { json } = await runJob({
      image: 'busybox',
      cmd: ['sh', '-c', 'sha256sum tests/1.in | cut -d" " -f1; stat -c %a tests/1.in; cat note'],
      files: [
        { path: 'tests/1.in', blob: blob.digest, mode: 0o640 },
        { path: 'note', content: 'inline too' },
      ],
    });
    assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
    assert.equal(json.result.stdout, `${blob.digest.slice(7)}\n640\ninline too`);
  });

  it('naming an unknown or deleted blob is refused at submission with 422, naming the field', async () => {
    const unknown = `sha256:${'b'.repeat(64)}`;
    const viaStdin = await runJob({ image: 'busybox', cmd: ['cat'], stdin: { blob: unknown } });
    assert.equal(viaStdin.status, 422);
    assert.equal(viaStdin.json.error.code, 'blob_not_found');
    assert.equal(viaStdin.json.error.field, 'stdin.blob');
    const { json: blob } = await upload(randomBytes(10));
    await fetch(blobUrl(blob.digest), { method: 'DELETE' });
    const viaFile = await runJob({ image: 'busybox', cmd: ['true'], files: [{ path: 'a', content: 'x' }, { path: 'b', blob: blob.digest }] });
    assert.equal(viaFile.status, 422);
    assert.equal(viaFile.json.error.field, 'files[1].blob');
    const both = await runJob({ image: 'busybox', cmd: ['true'], files: [{ path: 'a', content: 'x', blob: blob.digest }] });
    assert.equal(both.status, 400);
  });
});
