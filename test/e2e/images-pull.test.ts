/**
 * Images end to end: a real server, a real registry on loopback (fed by umoci and skopeo) with a
 * counting proxy in front, and jobs in real sandboxes: `warmbox pull`, pull on first use by
 * POST /v1/jobs (shared between concurrent jobs), listing, removal, and the errors of pulls.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MAX_IMAGE_LAYERS } from '../../contract/limits.js';
import { encodeTar } from '../../images/store/layer-tar.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { hasTool, pushRawImage, pushWithSkopeo, registryTestsUnavailable, startProxy, startRegistry, type TestProxy, type TestRegistry } from '../helpers/registry.js';
import { layeredLayout, SHOW_DATA } from '../helpers/test-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { CLI, freePort, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

const skip = await registryTestsUnavailable();
const execFileAsync = promisify(execFile);
const noScript = !(await hasTool('script', ['--version'])) && 'script (util-linux) is not installed';

describe('images from a registry', { skip }, () => {
  let tmp: string;
  let redis: TestRedis;
  let registry: TestRegistry;
  /** Counts what the server asks the registry; slow enough that concurrent requests overlap. */
  let proxy: TestProxy;
  let server: TestServer;
  let env: Record<string, string>;

  const ref = (name: string): string => `${proxy.host}/test/${name}:v1`;
  const manifestGets = (name: string): number => proxy.requests.filter((r) => r.method === 'GET' && r.url.startsWith(`/v2/test/${name}/manifests/`)).length;

  async function request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string; headers: Headers }> {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  before(async () => {
    tmp = await makeTempDir('images-e2e');
    registry = await startRegistry();
    const layout = await layeredLayout(join(tmp, 'oci'));
    for (const name of ['pulled', 'first-use', 'shared', 'nowait', 'library/mirrored']) {
      await pushWithSkopeo(layout.dir, 'v1', `${registry.host}/${name.startsWith('library/') ? name : `test/${name}`}:v1`);
    }
    // One with a layer of its own, on top of the layers it shares with the others.
    await layout.copyTag('v1', 'own');
    await layout.change('own', (rootfs) => writeFile(join(rootfs, 'data', 'own'), 'only in this image\n'));
    await pushWithSkopeo(layout.dir, 'own', `${registry.host}/test/removed:v1`);
    // Each with a layer of its own, which `warmbox run` then downloads.
    for (const name of ['run-plain', 'run-tty']) {
      await layout.copyTag('v1', name);
      await layout.change(name, (rootfs) => writeFile(join(rootfs, 'data', name), `only in ${name}\n`));
      await pushWithSkopeo(layout.dir, name, `${registry.host}/test/${name}:v1`);
    }
    await layout.copyTag('v1', 'busy');
    await layout.change('busy', (rootfs) => writeFile(join(rootfs, 'data', 'busy'), 'still here\n'));
    await pushWithSkopeo(layout.dir, 'busy', `${registry.host}/test/busy:v1`);
    proxy = await startProxy(registry.url, { delayMs: 150 });
    redis = await startRedis();
    server = await startServer({
      redisUrl: redis.url,
      env: { WARMBOX_REGISTRY_MIRRORS: `docker.io=${registry.url}` },
    });
    env = { WARMBOX_URL: server.url };
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await proxy?.stop();
    await registry?.stop();
    await removeTempDir(tmp);
  });

  it('warmbox pull stores a multi-layer image, and a job in it sees the upper layer and not the whited-out file', async () => {
    const pull = await runCli(['pull', ref('pulled')], env);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Pulling /);
    assert.match(pull.stdout, /[0-9a-f]{12}: Pull complete/, 'a line per layer when not on a terminal');
    assert.ok(!pull.stdout.includes('\u001b['), 'no cursor movement outside a terminal');
    assert.match(pull.stdout, /Digest: sha256:[0-9a-f]{64}/);
    assert.equal(pull.stdout.trim().split('\n').at(-1), ref('pulled'));

    const { status, json } = await request('POST', '/v1/jobs?wait=true', { image: ref('pulled'), cmd: SHOW_DATA });
    assert.equal(status, 200);
    assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
    assert.equal(json.result.stdout, 'keep\nupper\nfrom layer 2\nhello\n');

    const again = await runCli(['pull', ref('pulled')], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Already exists/);
    assert.match(again.stdout, /Image is up to date/);
  });

  it("runs a job in the image's own config (Cmd, Env, WorkingDir) when cmd is absent", async () => {
    const { json } = await request('POST', '/v1/jobs?wait=true', { image: ref('pulled'), cmd: ['sh', '-c', 'pwd; echo $GREETING'] });
    assert.equal(json.result.stdout, '/data\nhello\n');
  });

  it('a job naming an image that is not here pulls it first, and its timings show the pull', async () => {
    const before = (await request('GET', '/v1/images')).json.images.map((i: any) => i.reference);
    assert.ok(!before.includes(ref('first-use')));
    const { status, json } = await request('POST', '/v1/jobs?wait=true', { image: ref('first-use'), cmd: ['cat', '/data/upper'] });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
    assert.equal(json.result.stdout, 'from layer 2\n');
    assert.ok(json.result.timings.pullMs > 0, `pullMs ${json.result.timings.pullMs}`);
    assert.ok(json.result.timings.totalMs >= json.result.timings.pullMs);
    assert.equal(manifestGets('first-use'), 1);
  });

  it(`a job of an image of more than ${MAX_IMAGE_LAYERS} layers is refused with 422 naming the count, and nothing of it is downloaded`, async () => {
    const layers = Array.from({ length: MAX_IMAGE_LAYERS + 1 }, (_, i) => ({
      blob: encodeTar([{ path: `layer-${i}`, type: 'File', mode: 0o644, data: Buffer.from(`${i}\n`) }]),
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
    }));
    await pushRawImage(registry.url, 'test/too-many-layers', 'v1', { layers });
    const { status, json } = await request('POST', '/v1/jobs?wait=true', { image: ref('too-many-layers'), cmd: ['true'] });
    assert.equal(status, 422, JSON.stringify(json));
    assert.equal(json.error.code, 'image_unsupported');
    assert.match(json.error.message, new RegExp(`${MAX_IMAGE_LAYERS + 1} layers.*at most ${MAX_IMAGE_LAYERS}`));
    assert.equal(proxy.requests.filter((r) => r.url.startsWith('/v2/test/too-many-layers/blobs/')).length, 0);
  });

  it('two concurrent jobs of one image that is not here share one pull', async () => {
    const [a, b] = await Promise.all([
      request('POST', '/v1/jobs?wait=true', { image: ref('shared'), cmd: ['cat', '/data/keep'] }),
      request('POST', '/v1/jobs?wait=true', { image: ref('shared'), cmd: ['cat', '/data/keep'] }),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.result.stdout, 'kept from layer 1\n');
      assert.ok(r.json.result.timings.pullMs > 0);
    }
    assert.equal(manifestGets('shared'), 1, 'one manifest request: one pull');
  });

  it('GET /v1/images lists images with digest, size and creation time; GET /v1/images/{reference} shows config and layers', async () => {
    const list = await request('GET', '/v1/images');
    assert.equal(list.status, 200);
    const pulled = list.json.images.find((i: any) => i.reference === ref('pulled'));
    assert.ok(pulled, JSON.stringify(list.json));
    assert.match(pulled.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(pulled.compressedBytes > 1000);
    assert.ok(pulled.unpackedBytes > pulled.compressedBytes, 'its gzip layers are larger unpacked');
    assert.ok(!Number.isNaN(Date.parse(pulled.createdAt)));
    assert.equal(pulled.repository, `${proxy.host}/test/pulled`);
    assert.equal(pulled.tag, 'v1');

    const one = await request('GET', `/v1/images/${encodeURIComponent(ref('pulled'))}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.json.config.Cmd, ['sh']);
    assert.ok(one.json.config.Env.includes('GREETING=hello'));
    assert.equal(one.json.config.WorkingDir, '/data');
    assert.equal(one.json.layers.length, 2);
    for (const layer of one.json.layers) {
      assert.match(layer.digest, /^sha256:/);
      assert.match(layer.diffId, /^sha256:/);
      assert.ok(layer.size > 0);
      assert.ok(layer.unpackedSize > layer.size, 'a gzip layer unpacks to more');
    }
    assert.equal(one.json.unpackedBytes, one.json.layers.reduce((n: number, l: any) => n + l.unpackedSize, 0));
    assert.equal(one.json.os, 'linux');

    const table = await runCli(['images'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\s+CREATED/);
    assert.match(table.stdout, new RegExp(`${proxy.host}/test/pulled\\s+v1\\s+${pulled.digest.slice(7, 19)}\\s`));
    assert.match(table.stdout, /\nbusybox\s+latest\s/);

    assert.equal((await request('GET', `/v1/images/${encodeURIComponent(`${proxy.host}/test/never:v1`)}`)).status, 404);
    assert.equal((await request('GET', `/v1/images/${encodeURIComponent('bad//ref')}`)).status, 400);
  });

  it('DELETE removes an image, and a job of it afterwards pulls it again', async () => {
    const blobGets = (): number => proxy.requests.filter((r) => r.url.startsWith('/v2/test/removed/blobs/')).length;
    const first = await request('POST', '/v1/jobs?wait=true', { image: ref('removed'), cmd: ['cat', '/data/own'] });
    assert.equal(first.json.result.stdout, 'only in this image\n');
    assert.equal(manifestGets('removed'), 1);
    const downloaded = blobGets();
    assert.equal(downloaded, 2, 'its config and its own layer; the other layers were in the store');

    const del = await request('DELETE', `/v1/images/${encodeURIComponent(ref('removed'))}`);
    assert.equal(del.status, 204, del.text);
    assert.equal((await request('GET', `/v1/images/${encodeURIComponent(ref('removed'))}`)).status, 404);
    assert.ok(!(await request('GET', '/v1/images')).json.images.some((i: any) => i.reference === ref('removed')));
    assert.equal((await request('DELETE', `/v1/images/${encodeURIComponent(ref('removed'))}`)).status, 404);

    const second = await request('POST', '/v1/jobs?wait=true', { image: ref('removed'), cmd: ['cat', '/data/upper'] });
    assert.equal(second.json.result.verdict, 'ok', JSON.stringify(second.json.result));
    assert.equal(second.json.result.stdout, 'from layer 2\n');
    assert.ok(second.json.result.timings.pullMs > 0);
    assert.equal(manifestGets('removed'), 2, 'pulled again');
    // What only it used was collected, so the second pull downloaded it again; shared layers stayed.
    assert.equal(blobGets(), 2 * downloaded);
    const others = await request('POST', '/v1/jobs?wait=true', { image: ref('pulled'), cmd: ['cat', '/data/keep'] });
    assert.equal(others.json.result.stdout, 'kept from layer 1\n', 'images sharing its layers still run');
  });

  it('refuses to remove an image while a job of it runs (409), unless forced; warmbox rmi removes', async () => {
    await request('POST', '/v1/images/pull', { reference: ref('busy') });
    // It reads a file of the image's own layer after the removal: the layer must outlive the collection.
    const job = await request('POST', '/v1/jobs', { image: ref('busy'), cmd: ['sh', '-c', '/bin/busybox sleep 2; cat /data/busy'] });
    assert.equal(job.status, 202);
    const refused = await request('DELETE', `/v1/images/${encodeURIComponent(ref('busy'))}`);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, 'image_in_use');
    const cli = await runCli(['rmi', ref('busy')], env);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /queued or running/);

    const forced = await runCli(['rmi', '-f', ref('busy'), `${proxy.host}/test/never:v1`], env);
    assert.equal(forced.code, 1, 'one of the two did not exist');
    assert.match(forced.stdout, new RegExp(`Untagged: ${ref('busy')}`));
    assert.match(forced.stderr, /No such image/);
    // The job keeps the layers it mounted, and ends as it would have.
    let done: any;
    for (let i = 0; i < 200; i++) {
      done = await fetch(`${server.url}/v1/jobs/${job.json.id}`).then((r) => r.json());
      if (done.status === 'finished') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(done.result?.verdict, 'ok', JSON.stringify(done));
    assert.equal(done.result.stdout, 'still here\n');
  });

  it('POST /v1/images/pull streams NDJSON progress ending with the image; with wait=false answers 202 with an operation', async () => {
    const res = await fetch(`${server.url}/v1/images/pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reference: ref('pulled') }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.type === 'progress' && l.status === 'exists'));
    const last = lines.at(-1);
    assert.equal(last.type, 'image');
    assert.equal(last.image.reference, ref('pulled'));

    const queued = await request('POST', '/v1/images/pull?wait=false', { reference: ref('nowait') });
    assert.equal(queued.status, 202, queued.text);
    assert.equal(queued.json.kind, 'pull');
    const location = queued.headers.get('location');
    assert.equal(location, `/v1/images/operations/${queued.json.id}`);
    let op: any;
    for (let i = 0; i < 200; i++) {
      op = (await request('GET', location!)).json;
      if (op.state === 'succeeded' || op.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.deepEqual(op.images, [ref('nowait')]);
    assert.equal((await request('GET', '/v1/images/operations/no-such-op')).status, 404);
  });

  it('warmbox run of an image not in the store shows its pull on stderr as docker run does, then runs it', async () => {
    const r = await runCli(['run', ref('run-plain'), 'cat', '/data/keep'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'kept from layer 1\n', 'stdout is the job\'s alone');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines[0], `Unable to find image '${ref('run-plain')}' locally`);
    assert.match(r.stderr, /^Pulling /m);
    assert.equal(r.stderr.match(/^[0-9a-f]{12}: Pull complete$/gm)?.length, 3, 'each layer, once done');
    assert.match(r.stderr, /^[0-9a-f]{12}: Downloading \(/m, 'its own layer is downloaded');
    assert.match(r.stderr, /^Digest: sha256:[0-9a-f]{64}$/m);
    assert.equal(lines.at(-1), `Status: Downloaded newer image for ${ref('run-plain')}`);
    assert.ok(!r.stderr.includes('\u001b['), 'no redrawing outside a terminal');

    const again = await runCli(['run', ref('run-plain'), 'cat', '/data/keep'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '', 'an image in the store is not pulled again');
  });

  it('on a terminal, warmbox run redraws the layers of its pull in place', { skip: noScript }, async () => {
    // script(1) runs the CLI on a pseudo-terminal, as a user's shell would.
    const command = [process.execPath, CLI, 'run', ref('run-tty'), 'cat', '/data/keep'].map((a) => `'${a}'`).join(' ');
    const { stdout } = await execFileAsync('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env } });
    assert.match(stdout, new RegExp(`Unable to find image '${ref('run-tty').replace(/[.]/g, '\\.')}' locally`));
    const ESC = '\u001b';
    assert.match(stdout, new RegExp(`${ESC}\\[\\d+A`), 'the cursor goes back up to redraw the layers');
    assert.match(stdout, new RegExp(`${ESC}\\[2K[0-9a-f]{12}: Pull complete`));
    assert.match(stdout, /Status: Downloaded newer image for /);
    assert.match(stdout, /kept from layer 1/);
  });

  it('pulls references without a registry through WARMBOX_REGISTRY_MIRRORS', async () => {
    const r = await runCli(['pull', 'mirrored:v1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').at(-1), 'docker.io/library/mirrored:v1');
    const { json } = await request('POST', '/v1/jobs?wait=true', { image: 'mirrored:v1', cmd: ['cat', '/data/keep'] });
    assert.equal(json.result.stdout, 'kept from layer 1\n');
  });

  it('a missing repository is a 404 naming the image, from the API and from warmbox pull (exit 1)', async () => {
    const missing = `${proxy.host}/test/missing:v1`;
    const job = await request('POST', '/v1/jobs', { image: missing, cmd: ['true'] });
    assert.equal(job.status, 404, job.text);
    assert.equal(job.json.error.code, 'image_not_found');
    assert.match(job.json.error.message, /test\/missing/);
    assert.equal(job.json.error.reason, 'not_found');

    const pull = await request('POST', '/v1/images/pull', { reference: missing });
    assert.equal(pull.status, 404, pull.text);

    const cli = await runCli(['pull', missing], env);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^warmbox: .*not found/);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);

    const run = await runCli(['run', missing, 'true'], env);
    assert.equal(run.code, 125);
    assert.match(run.stderr, new RegExp(`^Unable to find image '${missing.replace(/[.]/g, '\\.')}' locally\nwarmbox: .*not found`));
  });

  it('an unreachable registry is a 503, answered at once; a malformed reference a 400', async () => {
    const closed = `127.0.0.1:${await freePort()}/nothing:v1`;
    const t0 = Date.now();
    const job = await request('POST', '/v1/jobs', { image: closed, cmd: ['true'] });
    assert.equal(job.status, 503, job.text);
    assert.equal(job.json.error.code, 'registry_unreachable');
    assert.match(job.json.error.message, /nothing/);
    assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);

    const bad = await request('POST', '/v1/images/pull', { reference: 'Not A Reference' });
    assert.equal(bad.status, 400);
    assert.equal((await request('POST', '/v1/jobs', { image: 'bad//ref', cmd: ['true'] })).status, 400);
  });

  it('documents each image command in --help', async () => {
    for (const [args, flag] of [[['pull', '--help'], '--quiet'], [['images', '--help'], '--no-trunc'], [['rmi', '--help'], '--force'], [['import', '--help'], '--tag'], [['image', 'build', '--help'], 'python']] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.includes(flag), `${args.join(' ')} mentions ${flag}`);
    }
  });
});
