import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, HTTP_KEEPALIVE_MS, loadConfig, STOP_GRACE_MS } from '../../server/config.js';

describe('server configuration', () => {
  it('has a default for everything', () => {
    const c = loadConfig({});
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.sandboxUid, 65534);
    assert.deepEqual(c.pools.prewarm, [{ image: 'busybox', min: 1 }]);
  });

  it('reads the environment', () => {
    const c = loadConfig({ WARMBOX_LISTEN: '[::1]:9000', WARMBOX_REDIS_URL: 'unix:///tmp/r.sock', WARMBOX_PREWARM: 'python:3.12=2,busybox=1' });
    assert.deepEqual(c.listen, { host: '::1', port: 9000 });
    assert.equal(c.redisUrl, 'unix:///tmp/r.sock');
    assert.deepEqual(c.pools.prewarm, [{ image: 'python:3.12', min: 2 }, { image: 'busybox', min: 1 }]);
  });

  it('names the variable that is wrong and what it takes', () => {
    assert.throws(() => loadConfig({ WARMBOX_LISTEN: 'nowhere' }), (e: Error) => e instanceof ConfigError && /WARMBOX_LISTEN.*HOST:PORT/.test(e.message));
    assert.throws(() => loadConfig({ WARMBOX_SANDBOX_UID: '0' }), /WARMBOX_SANDBOX_UID/);
    assert.throws(() => loadConfig({ WARMBOX_REDIS_URL: 'localhost:6379' }), /WARMBOX_REDIS_URL/);
  });

  it('bounds the stop grace period: a default, 0 allowed (kill at once), a maximum', () => {
    assert.equal(loadConfig({}).stopGraceMs, STOP_GRACE_MS.default);
    assert.equal(loadConfig({ WARMBOX_STOP_GRACE_MS: '0' }).stopGraceMs, 0);
    assert.equal(loadConfig({ WARMBOX_STOP_GRACE_MS: String(STOP_GRACE_MS.max) }).stopGraceMs, STOP_GRACE_MS.max);
    assert.throws(() => loadConfig({ WARMBOX_STOP_GRACE_MS: String(STOP_GRACE_MS.max + 1) }), /WARMBOX_STOP_GRACE_MS/);
  });

  it("keeps idle client connections longer than the proxies in front of it do (60 s), within bounds", () => {
    assert.equal(loadConfig({}).httpKeepAliveMs, 65_000);
    assert.ok(HTTP_KEEPALIVE_MS.default > 60_000);
    assert.equal(loadConfig({ WARMBOX_HTTP_KEEPALIVE_MS: '1000' }).httpKeepAliveMs, 1000);
    assert.throws(() => loadConfig({ WARMBOX_HTTP_KEEPALIVE_MS: '999' }), /WARMBOX_HTTP_KEEPALIVE_MS/);
    assert.throws(() => loadConfig({ WARMBOX_HTTP_KEEPALIVE_MS: String(HTTP_KEEPALIVE_MS.max + 1) }), /WARMBOX_HTTP_KEEPALIVE_MS/);
  });

  it('bounds the reconcile sweep: a grace under the enqueue bound could re-queue a job on its way in', () => {
    const c = loadConfig({});
    assert.deepEqual(c.reconcile, { intervalMs: 15_000, graceMs: 30_000 });
    assert.equal(c.redisAllowEviction, false);
    assert.equal(loadConfig({ WARMBOX_REDIS_ALLOW_EVICTION: '1' }).redisAllowEviction, true);
    assert.throws(() => loadConfig({ WARMBOX_RECONCILE_GRACE_MS: '1000' }), /WARMBOX_RECONCILE_GRACE_MS/);
    assert.throws(() => loadConfig({ WARMBOX_RECONCILE_INTERVAL_MS: '0' }), /WARMBOX_RECONCILE_INTERVAL_MS/);
    assert.throws(() => loadConfig({ WARMBOX_REDIS_ALLOW_EVICTION: 'yes' }), /WARMBOX_REDIS_ALLOW_EVICTION/);
  });

  it('turns auth off on loopback and on beyond it, and refuses a server beyond loopback without auth', () => {
    assert.equal(loadConfig({}).auth, false);
    assert.equal(loadConfig({ WARMBOX_LISTEN: '[::1]:8080' }).auth, false);
    assert.equal(loadConfig({ WARMBOX_LISTEN: '127.0.0.1:8080', WARMBOX_AUTH: 'on' }).auth, true);
    assert.equal(loadConfig({ WARMBOX_LISTEN: '0.0.0.0:8080' }).auth, true);
    assert.equal(loadConfig({ WARMBOX_LISTEN: '10.0.0.5:8080', WARMBOX_AUTH: 'on' }).auth, true);
    for (const listen of ['0.0.0.0:8080', '[::]:8080', '192.168.1.2:8080']) {
      assert.throws(() => loadConfig({ WARMBOX_LISTEN: listen, WARMBOX_AUTH: 'off' }), (e: Error) => e instanceof ConfigError && /WARMBOX_AUTH=off.*beyond loopback/.test(e.message), listen);
    }
    assert.throws(() => loadConfig({ WARMBOX_AUTH: 'maybe' }), /WARMBOX_AUTH.*on or off/);
  });
});
