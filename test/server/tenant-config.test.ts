/** The local tenant's policy and the retention default from WARMBOX_TENANT_* and WARMBOX_RETENTION (server/tenant-config.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNRESTRICTED_POLICY } from '../../contract/tenant.js';
import { RETENTION_DEFAULT_SECONDS } from '../../contract/tenant-policy-bounds.js';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('the local tenant\'s policy from the environment', () => {
  it('is unrestricted, with the 30-day retention default, when nothing is set', () => {
    const { tenants } = loadConfig({});
    assert.deepEqual(tenants.localTenantPolicy, UNRESTRICTED_POLICY);
    assert.equal(tenants.retentionDefaultSeconds, RETENTION_DEFAULT_SECONDS);
  });

  it('reads every setting as people type it', () => {
    const { tenants } = loadConfig({
      WARMBOX_TENANT_RATE: '600/m',
      WARMBOX_TENANT_BURST: '20',
      WARMBOX_TENANT_MAX_QUEUED: '100',
      WARMBOX_TENANT_MAX_RUNNING: '4',
      WARMBOX_TENANT_MAX_MEMORY: '512m',
      WARMBOX_TENANT_MAX_TIME: '30s',
      WARMBOX_TENANT_MAX_PIDS: '32',
      WARMBOX_TENANT_IMAGES: 'busybox, docker.io/library/python*',
      WARMBOX_TENANT_NETWORK: 'off',
      WARMBOX_TENANT_RETENTION: '7d',
      WARMBOX_RETENTION: 'off',
    });
    assert.deepEqual(tenants.localTenantPolicy, {
      rate: { perSecond: 10, burst: 20 },
      maxQueuedJobs: 100,
      maxRunningJobs: 4,
      limitCaps: { memoryBytes: 512 * 1024 * 1024, wallTimeMs: 30_000, pids: 32 },
      images: ['docker.io/library/busybox:latest', 'docker.io/library/python*'],
      network: false,
      retentionSeconds: 7 * 86_400,
    });
    assert.equal(tenants.retentionDefaultSeconds, null);
    assert.deepEqual(loadConfig({ WARMBOX_TENANT_RATE: '2.5' }).tenants.localTenantPolicy.rate, { perSecond: 2.5, burst: 3 }, 'a second\'s worth of burst by default');
  });

  it('names the variable that is wrong and what it takes', () => {
    const wrong: [Record<string, string>, RegExp][] = [
      [{ WARMBOX_TENANT_RATE: 'fast' }, /WARMBOX_TENANT_RATE.*10\/s/],
      [{ WARMBOX_TENANT_BURST: '5' }, /burst needs a rate/],
      [{ WARMBOX_TENANT_MAX_MEMORY: '1t' }, /limitCaps\.memoryBytes/],
      [{ WARMBOX_TENANT_MAX_RUNNING: '0' }, /maxRunningJobs/],
      [{ WARMBOX_TENANT_NETWORK: 'maybe' }, /WARMBOX_TENANT_NETWORK.*on or off/],
      [{ WARMBOX_TENANT_RETENTION: '1h' }, /retentionSeconds/],
      [{ WARMBOX_RETENTION: '1h' }, /WARMBOX_RETENTION/],
    ];
    for (const [env, message] of wrong) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
  });
});
