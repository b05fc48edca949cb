/**
 * A tenant sees only the blobs it uploaded: the bytes are stored once, but a job of another tenant
 * naming the digest is refused (422 blob_not_found), as an unknown blob is, until that tenant
 * uploads the same bytes itself (which stores nothing new).
 */
import { UNRESTRICTED_POLICY } from '../../contract/tenant.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { OpenAPIHono } from '@hono/zod-openapi';
import { createApp } from '../../api/app.js';
import { errorHandler } from '../../api/errors.js';
import { actAs, localTenant } from '../../api/middleware/tenant.js';
import { registerBlobs } from '../../api/routes/blobs.js';
import { ApiError } from '../../api/errors.js';
import { submitJobs } from '../../api/job-submission.js';
import { BlobStore } from '../../blobs/blob-store.js';
import { findBlob, recordBlob } from '../../db/blobs.js';
import type { AppDeps } from '../../api/deps.js';
import { startApiHarness, type ApiHarness } from './harness.js';

let h: ApiHarness;
let dir: string;
let store: BlobStore;
let deps: AppDeps;

before(async () => {
  h = await startApiHarness();
  dir = mkdtempSync(join(tmpdir(), 'warmbox-blob-tenants-'));
  store = new BlobStore(join(dir, 'blobs'));
  deps = { ...h.deps, blobs: { store, maxBytes: 1024 * 1024 } };
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The blob routes as another tenant calls them (auth picks the tenant; here a middleware does). */
function blobRoutesActingAs(tenantId: string): OpenAPIHono {
  const app = new OpenAPIHono();
  app.onError(errorHandler(deps.logger));
  app.use('*', actAs({ ...localTenant(), id: tenantId, name: tenantId }));
  registerBlobs(app, deps, deps.blobs!);
  return app;
}

describe('blobs and tenants', () => {
  it("another tenant gets 404 for a blob it did not upload, and must send the bytes to hold them", async () => {
    const local = blobRoutesActingAs('local');
    const acme = blobRoutesActingAs('acme');
    const bytes = randomBytes(500);
    const { digest } = (await (await local.request('/v1/blobs', { method: 'POST', body: bytes })).json()) as { digest: string };
    assert.equal((await local.request(`/v1/blobs/${digest}`)).status, 200);
    for (const method of ['GET', 'HEAD', 'DELETE']) assert.equal((await acme.request(`/v1/blobs/${digest}`, { method })).status, 404, method);
    // Knowing the digest is not enough: PUT reads and verifies the bytes for a tenant that does not hold them.
    const wrong = await acme.request(`/v1/blobs/${digest}`, { method: 'PUT', body: randomBytes(500) });
    assert.equal(wrong.status, 422);
    assert.equal(await findBlob(h.handle.db, 'acme', digest), undefined);
    assert.equal((await acme.request(`/v1/blobs/${digest}`, { method: 'PUT', body: bytes })).status, 201);
    assert.equal((await acme.request(`/v1/blobs/${digest}`)).status, 200);
    // acme's DELETE leaves local's record.
    assert.equal((await acme.request(`/v1/blobs/${digest}`, { method: 'DELETE' })).status, 204);
    assert.equal((await local.request(`/v1/blobs/${digest}`)).status, 200);
  });

  it("a job of another tenant cannot reference the local tenant's blob; the same bytes uploaded by it are stored once", async () => {
    const app = createApp(deps);
    const bytes = randomBytes(1000);
    const res = await app.request('/v1/blobs', { method: 'POST', body: bytes });
    assert.equal(res.status, 201);
    const { digest } = (await res.json()) as { digest: string };
    assert.ok(await findBlob(h.handle.db, 'local', digest));
    assert.equal(await findBlob(h.handle.db, 'acme', digest), undefined);

    const request = { image: 'busybox', cmd: ['cat'], stdin: { blob: digest }, network: 'none' as const };
    await assert.rejects(submitJobs(deps, [request], { tenant: { id: 'acme', name: 'acme', policy: UNRESTRICTED_POLICY } }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 422);
      assert.equal(err.code, 'blob_not_found');
      assert.equal(err.details.field, 'stdin.blob');
      return true;
    });
    const mine = await submitJobs(deps, [request], {});
    assert.equal(mine.rows.length, 1);

    // acme uploads the same bytes: it holds them now, and the store still has one file.
    const filesBefore = readdirSync(join(dir, 'blobs', 'sha256')).length;
    const again = await store.put(Readable.from([bytes]), { maxBytes: 1024 * 1024 });
    await recordBlob(h.handle.db, { tenantId: 'acme', digest: again.digest, size: again.size, createdAt: Date.now() });
    assert.equal((await submitJobs(deps, [request], { tenant: { id: 'acme', name: 'acme', policy: UNRESTRICTED_POLICY } })).rows.length, 1);
    assert.equal(readdirSync(join(dir, 'blobs', 'sha256')).length, filesBefore, 'no second copy of the bytes');
  });
});
