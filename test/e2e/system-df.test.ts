/** Disk usage of the workers' snapshot stores, over HTTP and the CLI. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let server: TestServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

it('GET /v1/system/df gives each worker store its total and per-image sizes', async () => {
  const res = await fetch(`${server.url}/v1/system/df`);
  assert.equal(res.status, 200);
  const { stores } = (await res.json()) as { stores: { workerId: string; total: number; images: { reference: string; sizeBytes: number; uniqueBytes: number }[] }[] };
  assert.equal(stores.length, 1);
  const [store] = stores;
  const refs = store!.images.map((i) => i.reference).sort();
  assert.deepEqual(refs, ['docker.io/library/busybox:latest', 'docker.io/library/hello-world:latest']);
  for (const image of store!.images) {
    assert.ok(image.sizeBytes > 0, image.reference);
    assert.ok(image.uniqueBytes > 0 && image.uniqueBytes <= image.sizeBytes, image.reference);
  }
  const unique = store!.images.reduce((n, i) => n + i.uniqueBytes, 0);
  assert.ok(store!.total >= unique, `total ${store!.total} < unique ${unique}`);
});

it('warmbox system df prints it as a table', async () => {
  const r = await runCli(['system', 'df'], { WARMBOX_URL: server.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Worker \S+: .+ in its store$/m);
  assert.match(r.stdout, /IMAGE\s+SIZE\s+UNIQUE SIZE/);
  assert.match(r.stdout, /busybox:latest/);
});
