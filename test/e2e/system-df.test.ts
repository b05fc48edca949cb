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

interface ImageUsage {
  reference: string;
  unpackedBytes: number;
  diskBytes: number;
  uniqueBytes: number;
}

it('GET /v1/system/df gives each worker store its total and per image its unpacked size, its disk usage and its unique part', async () => {
  const res = await fetch(`${server.url}/v1/system/df`);
  assert.equal(res.status, 200);
  const { stores } = (await res.json()) as { stores: { workerId: string; total: number; images: ImageUsage[] }[] };
  assert.equal(stores.length, 1);
  const [store] = stores;
  const refs = store!.images.map((i) => i.reference).sort();
  assert.deepEqual(refs, ['docker.io/library/busybox:latest', 'docker.io/library/hello-world:latest']);
  const listed = (await (await fetch(`${server.url}/v1/images`)).json()) as { images: { reference: string; unpackedBytes: number }[] };
  for (const image of store!.images) {
    assert.ok(image.unpackedBytes > 0, image.reference);
    assert.equal(image.unpackedBytes, listed.images.find((i) => i.reference === image.reference)?.unpackedBytes, `${image.reference}: the size GET /v1/images gives`);
    assert.ok(image.diskBytes > image.unpackedBytes, `${image.reference}: on disk, its blobs and its unpacked layers`);
    assert.ok(image.uniqueBytes > 0 && image.uniqueBytes <= image.diskBytes, image.reference);
  }
  const unique = store!.images.reduce((n, i) => n + i.uniqueBytes, 0);
  assert.ok(store!.total >= unique, `total ${store!.total} < unique ${unique}`);
});

it('warmbox system df labels its sizes, and its SIZE is the one warmbox images shows', async () => {
  const r = await runCli(['system', 'df'], { WARMBOX_URL: server.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Worker \S+: .+ on disk in its store$/m);
  assert.match(r.stdout, /IMAGE\s+SIZE\s+ON DISK\s+UNIQUE ON DISK/);
  const dfSize = /busybox:latest\s+(\S+)\s+(\S+)/.exec(r.stdout);
  const images = await runCli(['images'], { WARMBOX_URL: server.url });
  const imagesSize = /\nbusybox\s+latest\s+\S+\s+(\S+)/.exec(images.stdout);
  assert.ok(dfSize && imagesSize, `${r.stdout}\n${images.stdout}`);
  assert.equal(dfSize[1], imagesSize[1], 'one SIZE for busybox in both');
  assert.notEqual(dfSize[2], dfSize[1], 'ON DISK is another figure');
});
