/**
 * Collection of the blob store (api/blob-gc.ts) against a real db and a real store: a blob goes
 * only when no tenant holds it, no unfinished job references it, and it is older than the age;
 * a job's references pin its blobs until it ends.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { collectBlobs } from '../../api/blob-gc.js';
import { BlobStore } from '../../blobs/blob-store.js';
import type { JobPayload } from '../../contract/job-payload.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { deleteBlob, recordBlob } from '../../db/blobs.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createJob, finishJob, markRunning } from '../../db/jobs.js';

const AGE = 60_000;
let dir: string;
let handle: DatabaseHandle;
let store: BlobStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-blob-gc-test-'));
  handle = await openDatabase(join(dir, 'warmbox.db'));
  store = new BlobStore(join(dir, 'blobs'));
});
after(async () => {
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

async function put(tenantId?: string): Promise<string> {
  const bytes = randomBytes(64);
  const { digest, size } = await store.put(Readable.from([bytes]), { maxBytes: 64 });
  if (tenantId !== undefined) await recordBlob(handle.db, { tenantId, digest, size, createdAt: Date.now() });
  return digest;
}

async function job(id: string, refs: { stdin?: string; file?: string }): Promise<void> {
  const payload: JobPayload = {
    id,
    image: 'docker.io/library/busybox:latest',
    stdinBase64: '',
    ...(refs.stdin !== undefined && { stdinBlob: refs.stdin }),
    env: {},
    files: refs.file === undefined ? [] : [{ path: 'in', blob: refs.file, mode: 0o644 }],
    limits: { ...DEFAULT_LIMITS },
    network: 'none',
    createdAt: Date.now(),
  };
  await createJob(handle.db, { id, image: payload.image, request: payload, labels: {}, createdAt: Date.now() });
}

const stored = async (digest: string) => (await store.sizeOf(digest)) !== undefined;
const later = () => Date.now() + AGE + 1000;

describe('blob collection', () => {
  it('keeps blobs a tenant holds, and unheld ones younger than the age; removes old unheld ones', async () => {
    const held = await put('t1');
    const young = await put();
    const old = await put();
    const { removed } = await collectBlobs(handle.db, store, AGE);
    assert.deepEqual(removed, [], 'nothing is old yet');
    const second = await collectBlobs(handle.db, store, AGE, later());
    assert.ok(second.removed.includes(young) && second.removed.includes(old));
    assert.equal(await stored(held), true);
    assert.equal(await stored(old), false);
  });

  it('a blob whose last tenant deleted it goes; one another tenant still holds stays', async () => {
    const shared = await put('t1');
    await recordBlob(handle.db, { tenantId: 't2', digest: shared, size: 64, createdAt: Date.now() });
    await deleteBlob(handle.db, 't1', shared);
    await collectBlobs(handle.db, store, AGE, later());
    assert.equal(await stored(shared), true, 't2 holds it');
    await deleteBlob(handle.db, 't2', shared);
    await collectBlobs(handle.db, store, AGE, later());
    assert.equal(await stored(shared), false);
  });

  it("a queued or running job's references pin its blobs until it ends, even after their tenant deleted them", async () => {
    const stdin = await put('t1');
    const file = await put('t1');
    await job('01JBLOBGCQUEUED00000000000', { stdin });
    await job('01JBLOBGCRUNNING0000000000', { file });
    await markRunning(handle.db, '01JBLOBGCRUNNING0000000000', Date.now(), 'sha256:' + 'c'.repeat(64));
    await deleteBlob(handle.db, 't1', stdin);
    await deleteBlob(handle.db, 't1', file);
    await collectBlobs(handle.db, store, AGE, later());
    assert.equal(await stored(stdin), true, 'pinned by a queued job');
    assert.equal(await stored(file), true, 'pinned by a running job');
    await finishJob(handle.db, '01JBLOBGCQUEUED00000000000', resultWithoutRun('cancelled'), Date.now());
    await finishJob(handle.db, '01JBLOBGCRUNNING0000000000', resultWithoutRun('lost'), Date.now());
    const { removed } = await collectBlobs(handle.db, store, AGE, later());
    assert.ok(removed.includes(stdin) && removed.includes(file));
  });
});
