/**
 * Image archives end to end: `docker save` tarballs (made by skopeo) and OCI layout tars, imported
 * through POST /v1/images/import and `warmbox import`, then run as jobs in real sandboxes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MAX_IMAGE_LAYERS } from '../../contract/limits.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { registryTestsUnavailable, skopeoCopy } from '../helpers/registry.js';
import { layeredLayout, manyLayerArchive, SHOW_DATA } from '../helpers/test-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { CLI, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

const run = promisify(execFile);
const skip = await registryTestsUnavailable();

describe('image archives', { skip }, () => {
  let tmp: string;
  let redis: TestRedis;
  let server: TestServer;
  let env: Record<string, string>;
  let dockerSave: string;
  let ociTar: string;

  async function importArchive(body: Buffer, query = '', contentType = 'application/x-tar'): Promise<{ status: number; json: any }> {
    const res = await fetch(`${server.url}/v1/images/import${query}`, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) });
    return { status: res.status, json: await res.json() };
  }

  async function runJob(image: string, cmd: string[]): Promise<any> {
    const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image, cmd }) });
    return (await res.json()).result;
  }

  before(async () => {
    tmp = await makeTempDir('import-e2e');
    const layout = await layeredLayout(join(tmp, 'oci'));
    dockerSave = join(tmp, 'saved.tar');
    await skopeoCopy(`oci:${layout.dir}:v1`, `docker-archive:${dockerSave}:saved/app:v1`);
    ociTar = join(tmp, 'layout.tar');
    await run('tar', ['-C', layout.dir, '-cf', ociTar, '.']);
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url });
    env = { WARMBOX_URL: server.url };
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await removeTempDir(tmp);
  });

  it('imports a docker save tarball through the API, named by its RepoTags, and a job runs in it', async () => {
    const { status, json } = await importArchive(await readFile(dockerSave));
    assert.equal(status, 201, JSON.stringify(json));
    assert.equal(json.images.length, 1);
    const [image] = json.images;
    assert.equal(image.reference, 'docker.io/saved/app:v1');
    assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(image.layers.length, 2);
    assert.deepEqual(image.config.Cmd, ['sh']);

    const result = await runJob('saved/app:v1', SHOW_DATA);
    assert.equal(result.verdict, 'ok', JSON.stringify(result));
    assert.equal(result.stdout, 'keep\nupper\nfrom layer 2\nhello\n');
    // The archive is a blob of the API's store, kept while its image exists (workers elsewhere import it again).
    const archiveHex = createHash('sha256').update(await readFile(dockerSave)).digest('hex');
    assert.ok((await readdir(join(server.dataDir, 'blobs', 'sha256'))).includes(archiveHex), 'the archive is in the blob store');
  });

  it('warmbox import FILE --tag names the image, and warmbox run runs it', async () => {
    const r = await runCli(['import', dockerSave, '--tag', 'cli/app:v2'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Loaded image: docker\.io\/cli\/app:v2 \(sha256:[0-9a-f]{64}\)$/m);
    const job = await runCli(['run', 'cli/app:v2', 'cat', '/data/upper'], env);
    assert.equal(job.code, 0, job.stderr);
    assert.equal(job.stdout, 'from layer 2\n');
  });

  it('warmbox import - reads the archive from standard input', async () => {
    const child = execFile(process.execPath, [CLI, 'import', '-', '-t', 'stdin/app:v3'], { env: { ...env, PATH: process.env.PATH ?? '' } });
    const output = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d) => (stdout += d));
      child.stderr?.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    child.stdin?.end(await readFile(dockerSave));
    const r = await output;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Loaded image: docker\.io\/stdin\/app:v3/);
  });

  it('an OCI layout tar whose tag is bare needs ?reference= (422 reference_required without)', async () => {
    const without = await importArchive(await readFile(ociTar));
    assert.equal(without.status, 422, JSON.stringify(without.json));
    assert.equal(without.json.error.code, 'reference_required');

    const named = await importArchive(await readFile(ociTar), `?reference=${encodeURIComponent('oci/app:v1')}`);
    assert.equal(named.status, 201, JSON.stringify(named.json));
    assert.equal(named.json.images[0].reference, 'docker.io/oci/app:v1');
    const result = await runJob('oci/app:v1', ['cat', '/data/keep']);
    assert.equal(result.stdout, 'kept from layer 1\n');
  });

  it(`an image of ${MAX_IMAGE_LAYERS} layers imports and runs; one of ${MAX_IMAGE_LAYERS + 1} is refused with 422 too_many_layers naming the count`, async () => {
    const max = await importArchive(await manyLayerArchive(MAX_IMAGE_LAYERS, 'many/layers:max'));
    assert.equal(max.status, 201, JSON.stringify(max.json));
    const result = await runJob('many/layers:max', ['cat', '/layers/bottom', '/layers/top']);
    assert.equal(result.verdict, 'ok', JSON.stringify(result));
    assert.equal(result.stdout, 'bottom layer\ntop layer\n');

    const over = await importArchive(await manyLayerArchive(MAX_IMAGE_LAYERS + 1, 'many/layers:over'));
    assert.equal(over.status, 422, JSON.stringify(over.json));
    assert.equal(over.json.error.code, 'too_many_layers');
    assert.match(over.json.error.message, new RegExp(`${MAX_IMAGE_LAYERS + 1} layers.*at most ${MAX_IMAGE_LAYERS}`));
    assert.equal((await fetch(`${server.url}/v1/images/${encodeURIComponent('many/layers:over')}`)).status, 404);
  });

  it('refuses what is not an image archive: 422 for a tar without a manifest, 415 for another media type, 400 for an empty body', async () => {
    const notImage = join(tmp, 'not-image.tar');
    await writeFile(join(tmp, 'hello.txt'), 'hi\n');
    await run('tar', ['-C', tmp, '-cf', notImage, 'hello.txt']);
    const bad = await importArchive(await readFile(notImage));
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error.code, 'invalid_archive');

    const json = await importArchive(Buffer.from('{}'), '', 'application/json');
    assert.equal(json.status, 415);

    const empty = await importArchive(Buffer.alloc(0));
    assert.equal(empty.status, 400);

    const cli = await runCli(['import', notImage], env);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^warmbox: .*manifest\.json/);
    const missing = await runCli(['import', join(tmp, 'no-such.tar')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read/);
  });
});
