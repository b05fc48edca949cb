/**
 * Images that are bad input, through a real server and a real registry on loopback: layers that
 * inflate past the server's bounds (a gzip bomb, an entry-count bomb), broken layer and archive
 * bytes, and image configs whose WorkingDir no job can use. Each is refused with a 4xx naming what
 * is wrong (the bound, the layer, the field), never a 500 and never a path of the server's host,
 * and leaves nothing in the store: no ref, no layer, no blob, no staging, no db row.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SnapshotStore } from '../../images/image-store.js';
import { buildSingleLayerImage } from '../../images/store/image-builder.js';
import { ensureBuiltinImages } from '../../images/builtin-images.js';
import { ociArchitecture } from '../../images/store/oci-image.js';
import { brokenLayers, busyboxEntries, dockerSaveArchive, entryBomb, gzipBomb, gzipLayer, sha256, type TestLayer } from '../helpers/hostile-images.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { pushRawImage, registryTestsUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const skip = await registryTestsUnavailable();
const MiB = 1024 * 1024;
const BOUNDS_ENV = { WARMBOX_IMAGE_MAX_UNPACKED_BYTES: String(16 * MiB), WARMBOX_IMAGE_MAX_ENTRIES: '1000' };

interface Answer {
  status: number;
  error: { code: string; message: string; field?: string; bound?: string; [k: string]: unknown };
  /** Everything the client was sent. */
  text: string;
}

describe('images that are bad input', { skip }, () => {
  let redis: TestRedis;
  let registry: TestRegistry;
  let server: TestServer;

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url, env: BOUNDS_ENV });
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await registry?.stop();
  });

  /** Every file of the store and the uploads, and the images the API lists. */
  async function storeContent(): Promise<string[]> {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const path = join(dir, entry.name);
        // A layer directory is one item: what is inside it is the layer's.
        if (entry.isDirectory() && !relative(server.dataDir, dir).endsWith('layers/sha256')) await walk(path);
        else files.push(relative(server.dataDir, path));
      }
    };
    await walk(join(server.dataDir, 'store'));
    await walk(join(server.dataDir, 'uploads'));
    const listed = (await (await fetch(`${server.url}/v1/images`)).json()) as { images: { reference: string }[] };
    return [...files, ...listed.images.map((i) => `db:${i.reference}`)].sort();
  }

  /** The answer holds no path of the server's host: not its data directory, nor any absolute path of it. */
  function assertNoHostPath(text: string): void {
    assert.ok(!text.includes(server.dataDir), `the answer names the data directory: ${text}`);
    assert.ok(!text.includes(tmpdir() + '/'), `the answer names a temporary directory: ${text}`);
    assert.doesNotMatch(text, /(^|[\s"'(=])\/(tmp|var|home|root|run|work|usr|opt|srv|mnt)\//, 'an absolute host path');
  }

  async function importArchive(body: Buffer): Promise<Answer> {
    const res = await fetch(`${server.url}/v1/images/import`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(body) });
    const text = await res.text();
    return { status: res.status, error: (JSON.parse(text) as { error: Answer['error'] }).error, text };
  }

  /** POST /v1/images/pull: its status, or the status its stream ends with. */
  async function pull(reference: string): Promise<Answer> {
    const res = await fetch(`${server.url}/v1/images/pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reference }) });
    const text = await res.text();
    if (res.status !== 200) return { status: res.status, error: (JSON.parse(text) as { error: Answer['error'] }).error, text };
    const last = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { type: string; error?: Answer['error'] & { status: number } };
    assert.equal(last.type, 'error', `the pull succeeded: ${text.slice(-500)}`);
    return { status: last.error?.status ?? 0, error: last.error as Answer['error'], text };
  }

  async function push(name: string, layers: TestLayer[], config: Record<string, unknown> = { Cmd: ['sh'] }, mediaType?: string): Promise<string> {
    await pushRawImage(registry.url, name, 'v1', {
      layers: layers.map((l) => ({ blob: l.blob, ...(mediaType !== undefined && { mediaType }) })),
      diffIds: layers.map((l) => l.diffId),
      config,
      architecture: ociArchitecture(),
    });
    return `${registry.host}/${name}:v1`;
  }

  async function assertRefusedCleanly(answer: Answer, before: string[], status: number, code: string, message?: RegExp): Promise<void> {
    assert.equal(answer.status, status, answer.text.slice(-800));
    assert.equal(answer.error.code, code, answer.text.slice(-800));
    if (message) assert.match(answer.error.message, message);
    assertNoHostPath(answer.text);
    assert.deepEqual(await storeContent(), before, 'the store holds nothing new');
  }

  describe('unpack bounds', () => {
    it('an import whose layer is a gzip bomb is 422 image_too_large naming the bound, and stores nothing', async () => {
      const bomb = await gzipBomb(512 * MiB);
      const archive = dockerSaveArchive('bomb/gzip:1', [bomb]);
      assert.ok(archive.length < 2 * MiB, `a small upload: ${archive.length} bytes`);
      const before = await storeContent();
      const answer = await importArchive(archive);
      await assertRefusedCleanly(answer, before, 422, 'image_too_large', /WARMBOX_IMAGE_MAX_UNPACKED_BYTES.*layer 1 of 1 .*unpacks to more than 16777216 bytes/);
      assert.equal(answer.error.bound, 'WARMBOX_IMAGE_MAX_UNPACKED_BYTES');
    });

    it('an import whose layer holds more entries than the bound is 422 image_too_large naming it', async () => {
      const before = await storeContent();
      const answer = await importArchive(dockerSaveArchive('bomb/entries:1', [entryBomb(20_000)]));
      await assertRefusedCleanly(answer, before, 422, 'image_too_large', /WARMBOX_IMAGE_MAX_ENTRIES.*more than 1000 entries/);
      assert.equal(answer.error.bound, 'WARMBOX_IMAGE_MAX_ENTRIES');
    });

    it('a gzip upload that inflates past the bound is refused while it inflates', async () => {
      const zeros = Buffer.alloc(64 * MiB);
      const before = await storeContent();
      const answer = await importArchive(gzipSync(dockerSaveArchive('bomb/archive:1', [{ blob: zeros, diffId: sha256(zeros) }])));
      await assertRefusedCleanly(answer, before, 422, 'image_too_large', /the archive unpacks to more than/);
    });

    it('a pull of either bomb from a registry ends with image_too_large, a job of one is a 422, and nothing is stored', async () => {
      const gzipRef = await push('bomb/pulled-gzip', [await gzipBomb(512 * MiB)]);
      const entriesRef = await push('bomb/pulled-entries', [gzipLayer(busyboxEntries()), entryBomb(20_000)]);
      const before = await storeContent();
      await assertRefusedCleanly(await pull(gzipRef), before, 422, 'image_too_large', /WARMBOX_IMAGE_MAX_UNPACKED_BYTES.*layer sha256:[0-9a-f]{64}/);
      await assertRefusedCleanly(await pull(entriesRef), before, 422, 'image_too_large', /WARMBOX_IMAGE_MAX_ENTRIES/);

      const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: gzipRef, cmd: ['true'] }) });
      const text = await res.text();
      await assertRefusedCleanly({ status: res.status, error: JSON.parse(text).error, text }, before, 422, 'image_too_large');
    });
  });

  describe('broken bytes', () => {
    for (const [what, layer] of Object.entries(brokenLayers())) {
      it(`an import of ${what} is a 422 naming the layer, and stores nothing`, async () => {
        const before = await storeContent();
        const answer = await importArchive(dockerSaveArchive('broken/layer:1', [gzipLayer(busyboxEntries()), layer]));
        assert.ok(['invalid_layer', 'digest_mismatch'].includes(answer.error?.code), answer.text);
        await assertRefusedCleanly(answer, before, 422, answer.error.code, new RegExp(`^layer 2 of 2 \\(layer1/layer\\.tar\\): layer ${sha256(layer.blob)}`));
      });

      it(`a pull of ${what} fails naming the layer, and stores nothing`, async () => {
        const zstd = layer.blob[0] === 0x28 ? 'application/vnd.oci.image.layer.v1.tar+zstd' : undefined;
        const ref = await push(`broken/${what.replace(/\W+/g, '-')}`, [layer], undefined, zstd);
        const before = await storeContent();
        const answer = await pull(ref);
        const expected = answer.error?.code === 'registry_error' ? 502 : 422; // a diff_id that lies is the registry's content
        await assertRefusedCleanly(answer, before, expected, answer.error.code, new RegExp(`layer ${sha256(layer.blob)}`));
        assert.ok(['image_unsupported', 'registry_error'].includes(answer.error.code), answer.text);
      });
    }

    it('a gzip upload that is corrupt or cut short is a 422 invalid_archive, and stores nothing', async () => {
      const archive = gzipSync(dockerSaveArchive('broken/archive:1', [gzipLayer(busyboxEntries())]));
      const corrupt = Buffer.from(archive);
      for (let i = 30; i < 90; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0xa5;
      for (const body of [corrupt, archive.subarray(0, archive.length - 100)]) {
        const before = await storeContent();
        await assertRefusedCleanly(await importArchive(body), before, 422, 'invalid_archive', /^the archive does not decompress/);
      }
    });
  });

  describe('a WorkingDir no job can use', () => {
    const layerWith = (...extra: Parameters<typeof gzipLayer>[0]): TestLayer => gzipLayer([...busyboxEntries(), ...extra]);
    for (const [workingDir, layer] of [
      ['/proc/self/cwd', layerWith()],
      ['relative/dir', layerWith()],
      ['/wd', layerWith({ path: 'wd', type: 'SymbolicLink', mode: 0o777, linkpath: '/proc/self/fd' })],
      ['/wd/sub', layerWith({ path: 'wd', type: 'SymbolicLink', mode: 0o777, linkpath: '../../../etc' })],
      ['/etc/passwd', layerWith()],
    ] as const) {
      it(`${JSON.stringify(workingDir)} in an import is a 422 invalid_config naming config.WorkingDir`, async () => {
        const before = await storeContent();
        const answer = await importArchive(dockerSaveArchive('workdir/import:1', [layer], { Cmd: ['sh'], WorkingDir: workingDir }));
        await assertRefusedCleanly(answer, before, 422, 'invalid_config', /^config\.WorkingDir ".*" cannot be a job's working directory: /);
        assert.equal(answer.error.field, 'config.WorkingDir');
      });
    }

    it('a pull of one is a 422 naming config.WorkingDir, and stores nothing', async () => {
      const ref = await push('workdir/pulled', [layerWith({ path: 'wd', type: 'SymbolicLink', mode: 0o777, linkpath: '/proc/1/cwd' })], { Cmd: ['sh'], WorkingDir: '/wd' });
      const before = await storeContent();
      const answer = await pull(ref);
      await assertRefusedCleanly(answer, before, 422, 'image_unsupported', /config\.WorkingDir "\/wd" cannot be a job's working directory: it leads into \/proc/);
      assert.equal(answer.error.field, 'config.WorkingDir');
    });

    it('a WorkingDir that is a symlink inside the image is taken, and jobs start where it points', async () => {
      const layer = layerWith({ path: 'srv', type: 'Directory', mode: 0o755 }, { path: 'srv/app', type: 'Directory', mode: 0o755 }, { path: 'app', type: 'SymbolicLink', mode: 0o777, linkpath: '/srv/app' });
      const answer = await fetch(`${server.url}/v1/images/import`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(dockerSaveArchive('workdir/fine:1', [layer], { Cmd: ['sh'], WorkingDir: '/app' })) });
      assert.equal(answer.status, 201, await answer.text());
      const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'workdir/fine:1', cmd: ['pwd'] }) });
      const job = (await res.json()) as { result: { verdict: string; stdout: string } };
      assert.equal(job.result.verdict, 'ok', JSON.stringify(job));
      assert.equal(job.result.stdout, '/srv/app\n');
    });
  });
});

describe('a job of an image stored with a WorkingDir no job can use', { skip }, () => {
  let server: TestServer;

  before(async () => {
    // Stored as an older version stored it, before pulls and imports checked WorkingDir.
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-'));
    const store = new SnapshotStore(join(dataDir, 'store'));
    await store.init();
    await ensureBuiltinImages(store);
    const rootfs = mkdtempSync(join(tmpdir(), 'warmbox-rootfs-'));
    try {
      await buildSingleLayerImage(store, { reference: 'old/workdir:1', rootfs, created: new Date(0), config: { Cmd: ['sh'], WorkingDir: '/proc/self/cwd' }, createdBy: 'test' });
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
    server = await startServer({ dataDir });
  });
  after(() => server?.stop());

  it('ends with exit 126 and the reason on its stderr, not internal_error', async () => {
    const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'old/workdir:1', cmd: ['true'] }) });
    const job = (await res.json()) as { result: { verdict: string; exitCode: number; stderr: string } };
    assert.equal(job.result.verdict, 'nonzero_exit', JSON.stringify(job));
    assert.equal(job.result.exitCode, 126);
    assert.equal(job.result.stderr, `warmbox: config.WorkingDir "/proc/self/cwd" cannot be a job's working directory: it leads into /proc, which the sandbox mounts over the image\n`);
  });
});
