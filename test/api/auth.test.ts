/**
 * Auth on (WARMBOX_AUTH): a request needs a valid key (401 otherwise, with the Bearer challenge),
 * the route's scope (403 naming it), and public routes need none. Every route has a scope in one
 * table, and the OpenAPI document says so. The real app over a real Redis and a SQLite file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newKeySecret, type Scope } from '../../contract/api-key.js';
import { getApiKey } from '../../db/api-keys.js';
import { ROUTE_SCOPES } from '../../api/route-scopes.js';
import { issueKey, makeTenant, revokeKey } from '../../api/tenant-admin.js';
import { postJob, startApiHarness, type ApiHarness, type ErrorJson } from './harness.js';

let h: ApiHarness;
let tenantName: string;

before(async () => {
  h = await startApiHarness({ auth: true });
  tenantName = (await makeTenant(h.handle.db, 'acme')).name;
});
after(async () => h.close());

async function keyFor(scopes: Scope[], extra: { expiresInSeconds?: number; tenant?: string } = {}): Promise<string> {
  return (await issueKey(h.handle.db, { tenant: extra.tenant ?? tenantName, scopes, ...(extra.expiresInSeconds !== undefined && { expiresInSeconds: extra.expiresInSeconds }) })).token;
}

function get(path: string, token?: string): Promise<Response> {
  return Promise.resolve(h.app.request(path, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }));
}

async function refusal(res: Response): Promise<ErrorJson['error']> {
  return ((await res.json()) as ErrorJson).error;
}

describe('auth on: who may call', () => {
  it('answers 401 unauthorized with a Bearer challenge without a key', async () => {
    const res = await get('/v1/jobs');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="warmbox"/);
    assert.equal((await refusal(res)).code, 'unauthorized');
    assert.equal((await postJob(h.app, { image: 'busybox' })).status, 401);
  });

  it('answers 401 for a malformed token, an unknown key id, a wrong secret and another scheme', async () => {
    const real = await keyFor(['jobs:read']);
    const wrongSecret = real.slice(0, -4) + (real.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const unknown = newKeySecret().token;
    for (const header of [`Bearer nonsense`, `Bearer ${unknown}`, `Bearer ${wrongSecret}`, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer']) {
      const res = await h.app.request('/v1/jobs', { headers: { authorization: header } });
      assert.equal(res.status, 401, header);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = await res.text();
      assert.ok(!body.includes(real.slice(-43)), 'the answer never echoes a secret');
    }
  });

  it('answers 401 for a revoked key and an expired one', async () => {
    const revoked = await keyFor(['jobs:read']);
    assert.equal((await get('/v1/jobs', revoked)).status, 200);
    await revokeKey(h.handle.db, revoked.split('_')[1]!);
    const res = await get('/v1/jobs', revoked);
    assert.equal(res.status, 401);
    assert.match((await refusal(res)).message, /revoked/);

    const expiring = (await issueKey(h.handle.db, { tenant: tenantName, scopes: ['jobs:read'], expiresInSeconds: 1 }, Date.now() - 2000)).token;
    const expired = await get('/v1/jobs', expiring);
    assert.equal(expired.status, 401);
    assert.match((await refusal(expired)).message, /expired/);
  });

  it('answers 403 forbidden naming the scope a key lacks', async () => {
    const readOnly = await keyFor(['jobs:read']);
    const res = await h.app.request('/v1/jobs', { method: 'POST', headers: { authorization: `Bearer ${readOnly}`, 'content-type': 'application/json' }, body: '{"image":"busybox"}' });
    assert.equal(res.status, 403);
    const error = await refusal(res);
    assert.equal(error.code, 'forbidden');
    assert.equal(error.scope, 'jobs:submit');
    for (const [path, scope] of [['/v1/keys', 'admin'], ['/v1/tenants', 'admin'], ['/v1/system/status', 'admin'], ['/v1/pools', 'images:manage']] as const) {
      const denied = await get(path, readOnly);
      assert.equal(denied.status, 403, path);
      assert.equal((await refusal(denied)).scope, scope);
    }
  });

  it('lets an admin key do everything (admin grants every scope)', async () => {
    const admin = await keyFor(['admin']);
    assert.equal((await get('/v1/jobs', admin)).status, 200);
    assert.equal((await get('/v1/keys', admin)).status, 200);
    assert.equal((await get('/v1/images', admin)).status, 200);
  });

  it('needs no key for the probes, the document, and webhooks in (a trigger checks its own secret)', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.notEqual((await get('/readyz')).status, 401);
    assert.equal((await get('/openapi.json')).status, 200);
    const hook = await h.app.request('/v1/hooks/trg_nosuchtriggernosuchtrig', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(hook.status, 404);
    // An unknown path is a 404 with or without a key.
    assert.equal((await get('/v1/nothing-here')).status, 404);
  });

  it("records a key's last use, coarsely", async () => {
    const token = await keyFor(['jobs:read']);
    const id = token.split('_')[1]!;
    assert.equal((await getApiKey(h.handle.db, id))?.lastUsedAt, null);
    await get('/v1/jobs', token);
    const first = (await getApiKey(h.handle.db, id))?.lastUsedAt;
    assert.ok(typeof first === 'number');
    await get('/v1/jobs', token);
    assert.equal((await getApiKey(h.handle.db, id))?.lastUsedAt, first, 'not written again within the minute');
  });
});

describe('auth off (the default of a loopback server)', () => {
  it('takes no key and acts for the local tenant with every scope', async () => {
    const open = h.appWith({ auth: false });
    assert.equal((await open.request('/v1/keys')).status, 200);
    const res = await postJob(open, { image: 'busybox' });
    assert.equal(res.status, 202);
    assert.equal(((await res.json()) as { tenantId: string }).tenantId, 'local');
  });
});

describe('the scope of every route, in one place', () => {
  interface Op {
    security?: Record<string, string[]>[];
    responses: Record<string, unknown>;
  }
  it('covers every operation of the document, which declares it with its 401 and 403', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, { type: string; scheme: string }> } };
    assert.deepEqual(doc.components.securitySchemes.apiKey && { type: doc.components.securitySchemes.apiKey.type, scheme: doc.components.securitySchemes.apiKey.scheme }, { type: 'http', scheme: 'bearer' });
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const key = `${method.toUpperCase()} ${path}`;
        const access = ROUTE_SCOPES[key];
        assert.ok(access !== undefined, `${key} has a scope in api/route-scopes.ts`);
        if (access === 'public') {
          assert.deepEqual(op.security, [], `${key} is public`);
        } else if (access === 'internal') {
          assert.deepEqual(op.security, [{ workerToken: [] }], `${key} takes the workers' token`);
          assert.ok('401' in op.responses, `${key} declares 401`);
        } else {
          assert.deepEqual(op.security, [{ apiKey: [access] }], key);
          assert.ok('401' in op.responses && '403' in op.responses, `${key} declares 401 and 403`);
        }
      }
    }
  });
});
