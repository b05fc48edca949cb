/**
 * Private registries end to end: basic auth (htpasswd) and bearer tokens (a token service as Docker
 * Hub's), with and without credentials in WARMBOX_REGISTRY_AUTH_FILE (read at every pull).
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { pushWithSkopeo, registryTestsUnavailable, startRegistry, startTokenServer, type TestRegistry, type TokenServer } from '../helpers/registry.js';
import { layeredLayout } from '../helpers/test-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

const skip = (await registryTestsUnavailable()) || (process.getuid?.() === 0 ? false : 'needs root');
const USER = 'warmbox';
const PASSWORD = 's3cret-pass';

describe('images from registries that need credentials', { skip }, () => {
  let tmp: string;
  let authFile: string;
  let redis: TestRedis;
  let basic: TestRegistry;
  let tokens: TokenServer;
  let bearer: TestRegistry;
  let server: TestServer;

  async function job(image: string): Promise<{ status: number; json: any }> {
    const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image, cmd: ['cat', '/data/upper'] }) });
    return { status: res.status, json: await res.json() };
  }

  async function writeAuth(password: string): Promise<void> {
    const auth = Buffer.from(`${USER}:${password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [basic.host]: { auth }, [`http://${bearer.host}`]: { username: USER, password } } }));
  }

  before(async () => {
    tmp = await makeTempDir('auth-e2e');
    authFile = join(tmp, 'docker-config.json');
    const layout = await layeredLayout(join(tmp, 'oci'));
    basic = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
    tokens = await startTokenServer({ [USER]: PASSWORD });
    bearer = await startRegistry({ token: tokens });
    await pushWithSkopeo(layout.dir, 'v1', `${basic.host}/private/app:v1`, { creds: `${USER}:${PASSWORD}` });
    await pushWithSkopeo(layout.dir, 'v1', `${bearer.host}/private/app:v1`, { creds: `${USER}:${PASSWORD}` });
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url, env: { WARMBOX_REGISTRY_AUTH_FILE: authFile } });
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await bearer?.stop();
    await tokens?.stop();
    await basic?.stop();
    await removeTempDir(tmp);
  });

  for (const kind of ['basic', 'bearer'] as const) {
    const image = (): string => `${(kind === 'basic' ? basic : bearer).host}/private/app:v1`;

    it(`${kind} auth: without credentials a job of it is a 404 saying pull access was denied`, async () => {
      await rm(authFile, { force: true });
      const { status, json } = await job(image());
      assert.equal(status, 404, JSON.stringify(json));
      assert.equal(json.error.code, 'image_not_found');
      assert.equal(json.error.reason, 'unauthorized');
      assert.match(json.error.message, /pull access denied/);
      assert.match(json.error.message, /private\/app/);

      const cli = await runCli(['pull', image()], { WARMBOX_URL: server.url });
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /pull access denied/);
    });

    it(`${kind} auth: wrong credentials are refused the same way`, async () => {
      await writeAuth('wrong');
      const { status, json } = await job(image());
      assert.equal(status, 404, JSON.stringify(json));
      assert.match(json.error.message, /pull access denied|unauthorized/i);
    });

    it(`${kind} auth: with the credentials in WARMBOX_REGISTRY_AUTH_FILE it pulls, and the job runs`, async () => {
      await writeAuth(PASSWORD);
      const { status, json } = await job(image());
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.result.stdout, 'from layer 2\n');
      assert.ok(json.result.timings.pullMs > 0);
    });
  }
});
