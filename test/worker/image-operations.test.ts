/**
 * Image operations between the API's side (ImageQueue) and a worker (ImageWorker), over a real
 * Redis, a real snapshot store and db, and a real registry on loopback.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { findImage, imageRecordConfig } from '../../db/images.js';
import { createJob } from '../../db/jobs.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { SnapshotStore } from '../../images/image-store.js';
import type { ImageOpOutcome } from '../../contract/image-op.js';
import type { ImageOpEntry } from '../../queue/image-op-stream.js';
import { ImageOpIdleTimeout, ImageQueue } from '../../queue/image-queue.js';
import { ImageWorker } from '../../worker/image-worker.js';
import { BlobAccess } from '../../worker/blob-access.js';
import { BlobStore } from '../../blobs/blob-store.js';
import { imageSourceOf } from '../../contract/image-source.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { pushWithSkopeo, registryTestsUnavailable, skopeoCopy, startProxy, startRegistry, type TestProxy, type TestRegistry } from '../helpers/registry.js';
import { layeredLayout } from '../helpers/test-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = await registryTestsUnavailable();

describe('image operations', { skip }, () => {
  let tmp: string;
  let server: TestRedis;
  let redis: Redis;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let handle: DatabaseHandle;
  let store: SnapshotStore;
  let queue: ImageQueue;
  let worker: ImageWorker;
  let archive: string;
  let blobs: BlobStore;

  const ref = (name: string): string => `${proxy.host}/ops/${name}:v1`;

  async function perform(data: Parameters<ImageQueue['enqueue']>[0]): Promise<ImageOpOutcome> {
    const op = await queue.enqueue(data);
    const outcome = await queue.waitForOutcome(op.id, 20_000);
    assert.ok(outcome, 'the operation ended');
    return outcome;
  }

  async function eventsOf(id: string): Promise<ImageOpEntry[]> {
    const events: ImageOpEntry[] = [];
    for await (const e of queue.events(id, { idleTimeoutMs: 20_000 })) events.push(e);
    return events;
  }

  before(async () => {
    tmp = await makeTempDir('image-ops');
    registry = await startRegistry();
    const layout = await layeredLayout(join(tmp, 'oci'));
    for (const name of ['a', 'b', 'gone', 'used']) await pushWithSkopeo(layout.dir, 'v1', `${registry.host}/ops/${name}:v1`);
    archive = join(tmp, 'saved.tar');
    await skopeoCopy(`oci:${layout.dir}:v1`, `docker-archive:${archive}:ops/archived:v1`);
    proxy = await startProxy(registry.url, { delayMs: 100 });
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    handle = await openDatabase(join(tmp, 'warmbox.db'));
    store = new SnapshotStore(join(tmp, 'store'));
    await store.init();
    const log = pino({ level: 'silent' });
    queue = await ImageQueue.start({ redis, pullTimeoutMs: 20_000, importMaxBytes: 1 << 30, log });
    blobs = new BlobStore(join(tmp, 'blobs'));
    worker = ImageWorker.start({ connection: { host: server.host, port: server.port }, redis, store, db: handle.db, registry: {}, blobs: new BlobAccess({ store: blobs, maxBytes: 1 << 30 }), log });
  });
  after(async () => {
    await worker?.close();
    await queue?.close();
    redis?.disconnect();
    handle?.close();
    await server?.stop();
    await proxy?.stop();
    await registry?.stop();
    await removeTempDir(tmp);
  });

  it('a pull writes queued, status and per-layer progress events, ends with the reference, and records the image with its layers', async () => {
    const op = await queue.enqueue({ kind: 'pull', reference: ref('a') });
    assert.equal(op.joined, false);
    const events = await eventsOf(op.id);
    assert.equal(events[0]?.type, 'queued');
    assert.ok(events.some((e) => e.type === 'status'));
    const progress = events.filter((e) => e.type === 'progress');
    assert.deepEqual(new Set(progress.map((e) => e.type === 'progress' && e.status)), new Set(['waiting', 'downloading', 'verifying', 'extracting', 'done']));
    const end = events.at(-1);
    assert.ok(end?.type === 'end' && end.outcome.ok);
    assert.deepEqual(end.outcome.references, [ref('a')]);

    const row = await findImage(handle.db, ref('a'));
    assert.ok(row);
    assert.equal(row.digest, (await store.resolve(ref('a')))?.digest);
    const config = imageRecordConfig(row);
    assert.equal(config.layers?.length, 2);
    assert.deepEqual(config.cmd, ['sh']);
    assert.equal(config.workingDir, '/data');

    const status = await queue.status(op.id);
    assert.equal(status?.state, 'succeeded');
    assert.equal(status?.kind, 'pull');
    assert.equal(status?.subject, ref('a'));
  });

  it('concurrent pulls of one reference join one operation, and so one download', async () => {
    const ops = await Promise.all([1, 2, 3].map(() => queue.enqueue({ kind: 'pull', reference: ref('b') })));
    assert.equal(new Set(ops.map((o) => o.id)).size, 1, 'one operation id');
    assert.deepEqual(ops.map((o) => o.joined).sort(), [false, true, true]);
    const outcomes = await Promise.all(ops.map((o) => queue.waitForOutcome(o.id, 20_000)));
    for (const o of outcomes) assert.ok(o?.ok);
    assert.equal(proxy.requests.filter((r) => r.url.startsWith('/v2/ops/b/manifests/')).length, 1);

    const later = await queue.enqueue({ kind: 'pull', reference: ref('b') });
    assert.notEqual(later.id, ops[0]!.id, 'once ended, the next pull is an operation of its own');
    assert.ok((await queue.waitForOutcome(later.id, 20_000))?.ok);
  });

  it('a failure is an outcome with the registry error code, and the operation reads as failed', async () => {
    const op = await queue.enqueue({ kind: 'pull', reference: ref('missing') });
    const outcome = await queue.waitForOutcome(op.id, 20_000);
    assert.ok(outcome && !outcome.ok);
    assert.equal(outcome.error.code, 'not_found');
    assert.match(outcome.error.message, /ops\/missing/);
    assert.equal((await queue.status(op.id))?.state, 'failed');
    assert.equal(await findImage(handle.db, ref('missing')), undefined);
  });

  it('imports an archive from the blob store, records its images and where other hosts get them', async () => {
    const { digest } = await blobs.put(createReadStream(archive), { maxBytes: 1 << 30 });
    const outcome = await perform({ kind: 'import', archive: digest });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.references, ['docker.io/ops/archived:v1']);
    const row = await findImage(handle.db, 'docker.io/ops/archived:v1');
    assert.deepEqual(imageSourceOf(row?.config), { kind: 'archive', archive: digest });
    assert.ok((await blobs.sizeOf(digest)) !== undefined, 'the archive stays while its image exists (db/blob-pins.ts)');
  });

  it('a removal untags, deletes the row and collects what only that image used', async () => {
    // All these images are one image under several names (the archive's under another manifest).
    assert.ok((await perform({ kind: 'pull', reference: ref('gone') })).ok);
    const image = await store.resolve(ref('gone'));
    assert.ok(image);
    const outcome = await perform({ kind: 'remove', reference: ref('gone') });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.removed?.digest, image.digest);
    assert.equal(await store.resolve(ref('gone')), undefined);
    assert.equal(await findImage(handle.db, ref('gone')), undefined);
    assert.ok(await store.resolve(ref('a')), 'images sharing its layers stay');

    for (const name of ['a', 'b']) assert.ok((await perform({ kind: 'remove', reference: ref(name) })).ok);
    const last = await perform({ kind: 'remove', reference: 'docker.io/ops/archived:v1' });
    assert.ok(last.ok && last.removed && last.removed.freedBytes > 0, `the last image of those layers frees them: ${JSON.stringify(last)}`);

    const unknown = await perform({ kind: 'remove', reference: ref('never') });
    assert.ok(!unknown.ok);
    assert.equal(unknown.error.code, 'image_not_found');
  });

  it('refuses to remove an image while a job of it is queued, unless forced', async () => {
    assert.ok((await perform({ kind: 'pull', reference: ref('used') })).ok);
    await createJob(handle.db, {
      id: '01JIMAGEOPSTEST00000000000',
      image: ref('used'),
      request: { id: '01JIMAGEOPSTEST00000000000', image: ref('used'), stdinBase64: '', env: {}, files: [], limits: { ...DEFAULT_LIMITS }, network: 'none', createdAt: 1 },
      labels: {},
      createdAt: 1,
    });
    const refused = await perform({ kind: 'remove', reference: ref('used') });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'image_in_use');
    assert.ok(await store.resolve(ref('used')));
    assert.ok((await perform({ kind: 'remove', reference: ref('used'), force: true })).ok);
  });

  it('waitForOutcome gives up after its timeout, and events() after its idle timeout, while the operation goes on', async () => {
    // A queue nobody consumes: on another Redis, without a worker.
    const other = await startRedis();
    const otherRedis = new Redis(other.port, other.host);
    const idle = await ImageQueue.start({ redis: otherRedis, pullTimeoutMs: 1000, importMaxBytes: 1, log: pino({ level: 'silent' }) });
    try {
      const op = await idle.enqueue({ kind: 'pull', reference: ref('a') });
      const t0 = Date.now();
      assert.equal(await idle.waitForOutcome(op.id, 200), undefined);
      assert.ok(Date.now() - t0 >= 190);
      assert.equal((await idle.status(op.id))?.state, 'queued');
      await assert.rejects(async () => {
        for await (const _ of idle.events(op.id, { idleTimeoutMs: 300 }));
      }, ImageOpIdleTimeout);
    } finally {
      await idle.close();
      otherRedis.disconnect();
      await other.stop();
    }
  });
});
