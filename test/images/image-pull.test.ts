/**
 * ImagePuller against a real registry (Debian's docker-registry on loopback), fed with images built by
 * umoci and pushed by skopeo, or pushed blob by blob when a test needs a layer no tool would make. A
 * proxy in front of the registry counts requests and lies where a test needs a lying registry.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_IMAGE_LAYERS } from '../../contract/limits.js';
import { ImagePuller, ImagePullError, type PullProgress } from '../../images/image-pull.js';
import { SnapshotStore } from '../../images/image-store.js';
import { encodeTar } from '../../images/store/layer-tar.js';
import {
  freePort,
  pushRawImage,
  sha256,
  pushWithSkopeo,
  registryTestsUnavailable,
  startProxy,
  startRegistry,
  startTokenServer,
  treeListing,
  UmociLayout,
  withMergedLayers,
  type TestProxy,
  type TestRegistry,
  type TokenServer,
} from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = await registryTestsUnavailable();
const T = new Date('2022-02-02T02:02:02Z');

async function isPullError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImagePullError, `not an ImagePullError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('ImagePuller', { skip }, () => {
  let tmp: string | undefined;
  let registry: TestRegistry;
  let layout: UmociLayout;
  let storeCount = 0;
  const stops: Array<() => Promise<void>> = [];

  /** A fresh, empty store. */
  async function freshStore(): Promise<SnapshotStore> {
    const store = new SnapshotStore(join(tmp ?? '', `store-${storeCount++}`));
    await store.init();
    return store;
  }

  async function layerCount(store: SnapshotStore): Promise<number> {
    return (await readdir(join(store.root, 'layers', 'sha256'))).length;
  }

  async function assertNothingTagged(store: SnapshotStore): Promise<void> {
    assert.deepEqual(await store.list(), [], 'no image was tagged');
    assert.deepEqual(await readdir(join(store.root, 'tmp')), [], 'staging was cleaned up');
  }

  before(async () => {
    tmp = await makeTempDir('pull');
    registry = await startRegistry();
    stops.push(registry.stop);

    // base: four layers — files, a symlink, an executable and a subdirectory; another directory; a
    // whiteout of a file of the first layer; an opaque replacement of the second layer's directory.
    layout = await UmociLayout.create(join(tmp, 'oci'));
    await layout.newImage('base');
    await layout.change('base', async (rootfs) => {
      await mkdir(join(rootfs, 'etc', 'a', 'sub'), { recursive: true });
      await writeFile(join(rootfs, 'etc', 'a', 'one.txt'), 'one\n');
      await writeFile(join(rootfs, 'etc', 'a', 'sub', 'two'), 'two\n');
      await writeFile(join(rootfs, 'etc', 'a', 'script.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
      await symlink('sub/two', join(rootfs, 'etc', 'a', 'link'));
    });
    await layout.change('base', async (rootfs) => {
      await mkdir(join(rootfs, 'opt', 'b'), { recursive: true });
      await writeFile(join(rootfs, 'opt', 'b', 'keep'), 'keep\n');
      await writeFile(join(rootfs, 'opt', 'b', 'setuid'), 'x', { mode: 0o4755 });
    });
    await layout.change('base', async (rootfs) => {
      await rm(join(rootfs, 'etc', 'a', 'one.txt'));
    });
    await layout.addRawLayer('base', encodeTar([
      { path: 'opt/b/.wh..wh..opq', type: 'File', mode: 0o644, mtime: T },
      { path: 'opt/b', type: 'Directory', mode: 0o755, mtime: T },
      { path: 'opt/b/new', type: 'File', mode: 0o644, mtime: T, data: Buffer.from('new\n') },
    ]));
    await layout.config('base', ['--config.cmd', 'sh', '--config.env', 'GREETING=hello', '--config.workingdir', '/etc/a']);
    // derived: base plus one layer — shares base's four.
    await layout.copyTag('base', 'derived');
    await layout.change('derived', (rootfs) => writeFile(join(rootfs, 'extra'), 'derived only\n'));
    // two platforms under one index.
    await layout.newImage('amd');
    await layout.change('amd', (rootfs) => writeFile(join(rootfs, 'amd'), 'amd64\n'));
    await layout.newImage('arm');
    await layout.change('arm', (rootfs) => writeFile(join(rootfs, 'arm'), 'arm64\n'));
    await layout.config('arm', ['--architecture', 'arm64']);
    await layout.writeIndex('multi', [
      { tag: 'amd', platform: { os: 'linux', architecture: 'amd64' } },
      { tag: 'arm', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);

    await pushWithSkopeo(layout.dir, 'base', `${registry.host}/test/base:v1`);
    await pushWithSkopeo(layout.dir, 'derived', `${registry.host}/test/derived:v1`);
    await pushWithSkopeo(layout.dir, 'multi', `${registry.host}/test/multi:v1`, { all: true });
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await removeTempDir(tmp);
  });

  describe('a multi-layer image', () => {
    it('is stored, tagged and unpacked exactly as umoci unpacks it', async () => {
      const store = await freshStore();
      const events: PullProgress[] = [];
      const image = await new ImagePuller(store).pull(`${registry.host}/test/base:v1`, (p) => events.push(p));

      assert.equal(image.reference, `${registry.host}/test/base:v1`);
      assert.equal(image.digest, await layout.manifestDigest('base'));
      assert.equal(image.layerDirs.length, 4);
      assert.deepEqual(image.config.cmd, ['sh']);
      assert.ok(image.config.env.includes('GREETING=hello'));
      assert.equal(image.config.workingDir, '/etc/a');
      assert.deepEqual(await store.resolve(`${registry.host}/test/base:v1`), image);

      const expected = await treeListing(await layout.unpack('base', join(tmp ?? '', 'bundle-base')));
      const merged = await withMergedLayers(image.layerDirs, (root) => treeListing(root));
      assert.deepEqual(merged, expected);
    });

    it('applies whiteouts and opaque directories of upper layers', async () => {
      const store = await freshStore();
      const image = await new ImagePuller(store).pull(`${registry.host}/test/base:v1`);
      const paths = await withMergedLayers(image.layerDirs, async (root) => (await treeListing(root)).map((l) => l.split(' ')[0]));
      assert.ok(!paths.includes('etc/a/one.txt'), 'the whiteout hides one.txt');
      assert.ok(paths.includes('etc/a/sub/two') && paths.includes('etc/a/link'));
      assert.ok(!paths.includes('opt/b/keep'), 'the opaque directory hides what the lower layer had');
      assert.ok(paths.includes('opt/b/new'));
    });

    it('reports every layer through to done', async () => {
      const store = await freshStore();
      const last = new Map<string, PullProgress>();
      const image = await new ImagePuller(store).pull(`${registry.host}/test/base:v1`, (p) => last.set(p.layer, p));
      assert.equal(last.size, image.layerDirs.length);
      for (const p of last.values()) {
        assert.equal(p.status, 'done');
        assert.equal(p.doneBytes, p.totalBytes);
      }
    });
  });

  describe('layer sharing and reuse', () => {
    it('unpacks a layer two images share once', async () => {
      const store = await freshStore();
      const puller = new ImagePuller(store);
      const base = await puller.pull(`${registry.host}/test/base:v1`);
      assert.equal(await layerCount(store), 4);
      const derived = await puller.pull(`${registry.host}/test/derived:v1`);
      assert.equal(await layerCount(store), 5, 'only the derived image\'s own layer was added');
      assert.deepEqual(derived.layerDirs.slice(0, 4), base.layerDirs);
    });

    it('downloads no blob it already has', async () => {
      const store = await freshStore();
      const proxy = await startProxy(registry.url);
      stops.push(proxy.stop);
      const puller = new ImagePuller(store);
      await puller.pull(`${proxy.host}/test/base:v1`);
      const first = proxy.blobGets();
      assert.equal(first, 5, 'config and four layers');
      const events: PullProgress[] = [];
      await puller.pull(`${proxy.host}/test/derived:v1`, (p) => events.push(p));
      assert.equal(proxy.blobGets() - first, 2, 'only the new config and the new layer');
      assert.equal(events.filter((e) => e.status === 'exists').length, 4);
    });

    it('shares one download between concurrent pulls of one reference', async () => {
      const store = await freshStore();
      const proxy = await startProxy(registry.url, { delayMs: 50 });
      stops.push(proxy.stop);
      const puller = new ImagePuller(store);
      const ref = `${proxy.host}/test/base:v1`;
      const [a, b, c] = await Promise.all([puller.pull(ref), puller.pull(ref), puller.pull(ref)]);
      assert.deepEqual(a, b);
      assert.deepEqual(a, c);
      assert.equal(proxy.blobGets(), 5, 'each blob fetched once');
      assert.equal(proxy.requests.filter((r) => r.url.includes('/manifests/')).length, 1, 'the manifest fetched once');
    });

    it('shares the download of a common layer between concurrent pulls of two images', async () => {
      const store = await freshStore();
      const proxy = await startProxy(registry.url, { delayMs: 50 });
      stops.push(proxy.stop);
      const puller = new ImagePuller(store);
      await Promise.all([puller.pull(`${proxy.host}/test/base:v1`), puller.pull(`${proxy.host}/test/derived:v1`)]);
      const base = await store.resolve(`${proxy.host}/test/base:v1`);
      for (const dir of base?.layerDirs ?? []) assert.ok(dir);
      // 2 configs + 4 shared layers + 1 own layer; a shared layer is fetched by whichever pull got to it first.
      assert.equal(proxy.blobGets(), 7);
    });
  });

  describe('multi-platform images', () => {
    it("picks this machine's platform from an index", async () => {
      const image = await new ImagePuller(await freshStore()).pull(`${registry.host}/test/multi:v1`);
      assert.equal(image.digest, await layout.manifestDigest('amd'));
    });

    it('picks the platform asked for', async () => {
      const puller = new ImagePuller(await freshStore(), { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
      const image = await puller.pull(`${registry.host}/test/multi:v1`);
      assert.equal(image.digest, await layout.manifestDigest('arm'));
    });

    it('fails with platform_not_found, naming what the image has', async () => {
      const store = await freshStore();
      const puller = new ImagePuller(store, { platform: { os: 'linux', architecture: 's390x' } });
      await isPullError(puller.pull(`${registry.host}/test/multi:v1`), 'platform_not_found', /linux\/amd64, linux\/arm64\/v8/);
      await assertNothingTagged(store);
    });

    it("refuses a single-platform image of another architecture", async () => {
      const puller = new ImagePuller(await freshStore(), { platform: { os: 'linux', architecture: 'arm64' } });
      await isPullError(puller.pull(`${registry.host}/test/base:v1`), 'platform_not_found', /amd64/);
    });

    it("pulls by the index's digest, and the digest reference resolves", async () => {
      const store = await freshStore();
      const indexDigest = (await layout.index()).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'multi')?.digest;
      const ref = `${registry.host}/test/multi@${indexDigest}`;
      const image = await new ImagePuller(store).pull(ref);
      assert.equal(image.digest, await layout.manifestDigest('amd'));
      assert.equal((await store.resolve(ref))?.digest, image.digest);
    });

    it("pulls by a manifest's digest", async () => {
      const digest = await layout.manifestDigest('base');
      const image = await new ImagePuller(await freshStore()).pull(`${registry.host}/test/base@${digest}`);
      assert.equal(image.digest, digest);
    });
  });

  describe('refuses content that does not verify, storing nothing of it', () => {
    it('a blob the registry corrupts → digest_mismatch', async () => {
      const store = await freshStore();
      const layers = JSON.parse((await layout.readBlob(await layout.manifestDigest('base'))).toString()).layers as Array<{ digest: string }>;
      const victim = layers[1]?.digest ?? '';
      const proxy = await startProxy(registry.url, {
        rewriteBody: (req) => (req.url?.endsWith(`/blobs/${victim}`) ? (body) => {
          const copy = Buffer.from(body);
          copy[copy.length - 10] = (copy[copy.length - 10] ?? 0) ^ 0xff;
          return copy;
        } : undefined),
      });
      stops.push(proxy.stop);
      await isPullError(new ImagePuller(store).pull(`${proxy.host}/test/base:v1`), 'digest_mismatch', new RegExp(victim));
      await assertNothingTagged(store);
      assert.equal(await store.hasBlob(victim), false, 'the corrupt blob was not admitted');
    });

    it('a manifest that is not the digest asked for → digest_mismatch', async () => {
      const store = await freshStore();
      const wrong = await layout.manifestDigest('derived');
      // Ask for base's manifest by derived's digest: the registry has no such manifest under it, so
      // make the proxy answer a digest request with base's manifest.
      const proxy = await startProxy(registry.url, {
        intercept: (req, res) => {
          if (!req.url?.endsWith(`/manifests/${wrong}`)) return false;
          void layout.manifestDigest('base').then(async (d) => {
            res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
            res.end(await layout.readBlob(d));
          });
          return true;
        },
      });
      stops.push(proxy.stop);
      await isPullError(new ImagePuller(store).pull(`${proxy.host}/test/derived@${wrong}`), 'digest_mismatch');
      await assertNothingTagged(store);
    });

    it('a layer whose diff_id is not the config\'s → digest_mismatch', async () => {
      const store = await freshStore();
      const layer = gzipSync(encodeTar([{ path: 'f', type: 'File', mode: 0o644, mtime: T, data: Buffer.from('x') }]));
      await pushRawImage(registry.url, 'test/wrong-diffid', 'v1', { layers: [{ blob: layer }], diffIds: [`sha256:${'0'.repeat(64)}`] });
      await isPullError(new ImagePuller(store).pull(`${registry.host}/test/wrong-diffid:v1`), 'digest_mismatch', /diff_id/);
      await assertNothingTagged(store);
      assert.equal(await layerCount(store), 0);
    });

    for (const [what, path] of [['a ../ entry', '../escape'], ['an absolute entry', '/etc/escape']] as const) {
      it(`a layer with ${what} → unsafe_layer`, async () => {
        const store = await freshStore();
        const layer = gzipSync(encodeTar([
          { path: 'ok', type: 'File', mode: 0o644, mtime: T, data: Buffer.from('fine') },
          { path, type: 'File', mode: 0o644, mtime: T, data: Buffer.from('evil') },
        ]));
        const repo = `test/hostile-${what.includes('..') ? 'dotdot' : 'absolute'}`;
        await pushRawImage(registry.url, repo, 'v1', { layers: [{ blob: layer }] });
        await isPullError(new ImagePuller(store).pull(`${registry.host}/${repo}:v1`), 'unsafe_layer');
        await assertNothingTagged(store);
        assert.equal(await layerCount(store), 0);
      });
    }
  });

  describe('what cannot be pulled', () => {
    it('an unknown tag or repository → not_found', async () => {
      const puller = new ImagePuller(await freshStore());
      await isPullError(puller.pull(`${registry.host}/test/base:nope`), 'not_found', /MANIFEST_UNKNOWN|manifest unknown/);
      await isPullError(puller.pull(`${registry.host}/test/nothing-here:v1`), 'not_found');
    });

    it('a registry nobody listens on → registry_unreachable', async () => {
      const port = await freePort();
      await isPullError(new ImagePuller(await freshStore()).pull(`127.0.0.1:${port}/test/base:v1`), 'registry_unreachable', /ECONNREFUSED/);
    });

    it(`an image of more than ${MAX_IMAGE_LAYERS} layers → too_many_layers, naming the count, before any blob is downloaded`, async () => {
      const layers = Array.from({ length: MAX_IMAGE_LAYERS + 1 }, (_, i) => ({
        blob: gzipSync(encodeTar([{ path: `layer-${i}`, type: 'File', mode: 0o644, mtime: T, data: Buffer.from(`${i}\n`) }])),
      }));
      await pushRawImage(registry.url, 'test/too-many-layers', 'v1', { layers });
      const proxy = await startProxy(registry.url);
      stops.push(proxy.stop);
      const store = await freshStore();
      await isPullError(new ImagePuller(store).pull(`${proxy.host}/test/too-many-layers:v1`), 'too_many_layers', new RegExp(`has ${MAX_IMAGE_LAYERS + 1} layers; .* at most ${MAX_IMAGE_LAYERS} layers`));
      assert.equal(proxy.blobGets(), 0, 'no config or layer was downloaded');
      await assertNothingTagged(store);
    });

    it('an artifact that is no container image → manifest_unsupported', async () => {
      const config = Buffer.from('{}');
      const { pushBlob, pushManifest } = await import('../helpers/registry.js');
      await pushBlob(registry.url, 'test/artifact', config);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha256(config), size: config.length },
        layers: [],
      }));
      await pushManifest(registry.url, 'test/artifact', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
      await isPullError(new ImagePuller(await freshStore()).pull(`${registry.host}/test/artifact:v1`), 'manifest_unsupported', /helm/);
    });

    it('a zstd layer is decompressed, verified against its diff_id and unpacked', async () => {
      const tar = encodeTar([{ path: 'zstd.txt', type: 'File', mode: 0o644, mtime: T, data: Buffer.from('from a zstd layer\n') }]);
      const blob = await zstd(tar);
      assert.deepEqual(blob.subarray(0, 4), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
      await pushRawImage(registry.url, 'test/zstd', 'v1', {
        layers: [{ blob, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }],
        diffIds: [sha256(tar)],
      });
      const image = await new ImagePuller(await freshStore()).pull(`${registry.host}/test/zstd:v1`);
      assert.equal(await readFile(join(image.layerDirs[0]!, 'zstd.txt'), 'utf8'), 'from a zstd layer\n');
    });

    it('a pull killed midway leaves no image, and its staging goes at the next init', async () => {
      const root = join(tmp ?? '', 'crashed-store');
      const store = new SnapshotStore(root);
      await store.init();
      // A registry that sends half of every layer and then nothing: the pull hangs mid-download.
      const proxy = await startProxy(registry.url, {
        intercept: (req, res) => {
          if (!req.url?.includes('/blobs/')) return false;
          void fetch(`${registry.url}${req.url}`).then(async (upstream) => {
            const body = Buffer.from(await upstream.arrayBuffer());
            if (body.length < 1000) return void res.end(body); // the config
            res.writeHead(200, { 'content-length': String(body.length) });
            res.write(body.subarray(0, body.length >> 1));
          });
          return true;
        },
      });
      stops.push(proxy.stop);
      const url = (path: string): string => JSON.stringify(new URL(path, import.meta.url).href);
      const script = [
        `import { SnapshotStore } from ${url('../../images/image-store.js')};`,
        `import { ImagePuller } from ${url('../../images/image-pull.js')};`,
        `const store = new SnapshotStore(${JSON.stringify(root)}); await store.init();`,
        `await new ImagePuller(store).pull(${JSON.stringify(`${proxy.host}/test/base:v1`)});`,
      ].join('\n');
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const exited = once(child, 'exit');
      const deadline = Date.now() + 10_000;
      // What was seen counts: the config's staging comes and goes in a moment (a second read missed it once).
      let staged = false;
      while (!staged && Date.now() < deadline) {
        staged = (await readdir(join(root, 'tmp'))).length > 0;
        if (!staged) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(staged, 'the pull got as far as staging a blob');
      process.kill(child.pid ?? 0, 'SIGKILL');
      await exited;

      assert.deepEqual(await store.list(), [], 'no ref: no half image');
      await new SnapshotStore(root).init();
      assert.deepEqual(await readdir(join(root, 'tmp')), [], "the dead puller's staging is removed");
    });

    it('an aborted pull rejects with the abort and tags nothing', async () => {
      const store = await freshStore();
      const proxy = await startProxy(registry.url, { delayMs: 200 });
      stops.push(proxy.stop);
      const controller = new AbortController();
      const pulling = new ImagePuller(store).pull(`${proxy.host}/test/base:v1`, undefined, controller.signal);
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(pulling, { name: 'AbortError' });
      await new Promise((r) => setTimeout(r, 300)); // let the abandoned requests wind down
      assert.deepEqual(await store.list(), []);
    });
  });

  describe('mirrors and redirects', () => {
    it('fetches through a mirror first', async () => {
      const mirror = await startProxy(registry.url);
      stops.push(mirror.stop);
      const store = await freshStore();
      const image = await new ImagePuller(store, { mirrors: { [registry.host]: [mirror.url] } }).pull(`${registry.host}/test/base:v1`);
      assert.equal(mirror.blobGets(), 5);
      assert.equal(image.reference, `${registry.host}/test/base:v1`, 'stored under its own name, not the mirror\'s');
    });

    it('passes over a mirror that is down', async () => {
      const deadMirror = `http://127.0.0.1:${await freePort()}`;
      const image = await new ImagePuller(await freshStore(), { mirrors: { [registry.host]: [deadMirror] } }).pull(`${registry.host}/test/base:v1`);
      assert.equal(image.layerDirs.length, 4);
    });

    it('follows blob redirects', async () => {
      const proxy = await startProxy(registry.url, {
        intercept: (req, res) => {
          if (!req.url?.includes('/blobs/')) return false;
          res.writeHead(307, { location: `${registry.url}${req.url}` });
          res.end();
          return true;
        },
      });
      stops.push(proxy.stop);
      const image = await new ImagePuller(await freshStore()).pull(`${proxy.host}/test/base:v1`);
      assert.equal(image.layerDirs.length, 4);
    });
  });

  describe('registries that need credentials', () => {
    let credsDir: string;
    let goodCreds: string;
    let badCreds: string;

    before(async () => {
      credsDir = join(tmp ?? '', 'creds');
      await mkdir(credsDir);
      goodCreds = join(credsDir, 'good.json');
      badCreds = join(credsDir, 'bad.json');
      const auth = (user: string, pass: string): string => Buffer.from(`${user}:${pass}`).toString('base64');
      await writeFile(goodCreds, JSON.stringify({ auths: { 'placeholder:1': { auth: auth('alice', 's3cret') } } }));
      await writeFile(badCreds, JSON.stringify({ auths: { 'placeholder:1': { auth: auth('alice', 'wrong') } } }));
    });

    /** Rewrites the credentials files' key to the registry under test. */
    async function credsFor(host: string, file: string): Promise<string> {
      const { readFile } = await import('node:fs/promises');
      const doc = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, unknown> };
      const out = join(credsDir, `${host.replace(/[^a-z0-9]/gi, '_')}-${file.endsWith('good.json') ? 'good' : 'bad'}.json`);
      await writeFile(out, JSON.stringify({ auths: { [`http://${host}/`]: Object.values(doc.auths)[0] } }));
      return out;
    }

    describe('basic auth (htpasswd)', () => {
      let secured: TestRegistry;
      before(async () => {
        secured = await startRegistry({ htpasswd: { username: 'alice', password: 's3cret' } });
        stops.push(secured.stop);
        await pushWithSkopeo(layout.dir, 'base', `${secured.host}/test/base:v1`, { creds: 'alice:s3cret' });
      });

      it('without credentials → unauthorized', async () => {
        const store = await freshStore();
        await isPullError(new ImagePuller(store).pull(`${secured.host}/test/base:v1`), 'unauthorized', /credentials/);
        await assertNothingTagged(store);
      });

      it('with wrong credentials → unauthorized', async () => {
        const puller = new ImagePuller(await freshStore(), { credentialsFile: await credsFor(secured.host, badCreds) });
        await isPullError(puller.pull(`${secured.host}/test/base:v1`), 'unauthorized');
      });

      it('with the credentials file → pulled', async () => {
        const puller = new ImagePuller(await freshStore(), { credentialsFile: await credsFor(secured.host, goodCreds) });
        const image = await puller.pull(`${secured.host}/test/base:v1`);
        assert.equal(image.layerDirs.length, 4);
      });
    });

    describe('bearer tokens (token service)', () => {
      let tokens: TokenServer;
      let secured: TestRegistry;
      before(async () => {
        tokens = await startTokenServer({ alice: 's3cret' });
        stops.push(tokens.stop);
        secured = await startRegistry({ token: tokens });
        stops.push(secured.stop);
        await pushWithSkopeo(layout.dir, 'base', `${secured.host}/test/base:v1`, { creds: 'alice:s3cret' });
      });

      it('anonymously → unauthorized', async () => {
        const store = await freshStore();
        await isPullError(new ImagePuller(store).pull(`${secured.host}/test/base:v1`), 'unauthorized');
        await assertNothingTagged(store);
      });

      it('with wrong credentials → unauthorized, refused by the token service', async () => {
        const puller = new ImagePuller(await freshStore(), { credentialsFile: await credsFor(secured.host, badCreds) });
        await isPullError(puller.pull(`${secured.host}/test/base:v1`), 'unauthorized', /token service.*refused/);
      });

      it('with the credentials file → a token for the repository, then the image', async () => {
        tokens.requests.length = 0;
        const puller = new ImagePuller(await freshStore(), { credentialsFile: await credsFor(secured.host, goodCreds) });
        const image = await puller.pull(`${secured.host}/test/base:v1`);
        assert.equal(image.layerDirs.length, 4);
        assert.equal(tokens.requests.length, 1, 'one token serves the whole pull');
        assert.deepEqual(tokens.requests[0], { scope: ['repository:test/base:pull'], user: 'alice' });
      });

      it('never sends the token to the origin a blob is redirected to', async () => {
        const storage: TestProxy = await startProxy(registry.url); // the same blobs, anonymously
        stops.push(storage.stop);
        const front = await startProxy(secured.url, {
          intercept: (req, res) => {
            if (!req.url?.includes('/blobs/') || req.headers.authorization === undefined) return false;
            res.writeHead(307, { location: `${storage.url}${req.url}` });
            res.end();
            return true;
          },
        });
        stops.push(front.stop);
        const puller = new ImagePuller(await freshStore(), { credentialsFile: await credsFor(front.host, goodCreds) });
        const image = await puller.pull(`${front.host}/test/base:v1`);
        assert.equal(image.layerDirs.length, 4);
        assert.equal(storage.blobGets(), 5, 'the blobs came from the redirect target');
        assert.ok(storage.requests.every((r) => r.authorization === undefined), 'no Authorization header crossed origins');
      });
    });
  });
});

/** Compresses with the zstd command (Debian's zstd package), as registries' zstd layers are made. */
async function zstd(data: Buffer): Promise<Buffer> {
  const child = spawn('zstd', ['-q', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stdin.end(data);
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`zstd exited ${code}`);
  return Buffer.concat(chunks);
}
