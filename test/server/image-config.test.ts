import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNPACK_BOUNDS_MAXIMUM } from '../../contract/limits.js';
import { IMAGE_CONFIG_DEFAULTS, ImageConfigError, imageOpsConfigFromEnv } from '../../server/image-config.js';

describe('image operations configuration from the environment', () => {
  it('has defaults: Docker Hub, no mirrors, anonymous, a 5-minute pull timeout', () => {
    const c = imageOpsConfigFromEnv({});
    assert.deepEqual(c.registry, {});
    assert.equal(c.pullTimeoutMs, 300_000);
    assert.equal(c.importMaxBytes, IMAGE_CONFIG_DEFAULTS.importMaxBytes);
    assert.equal(c.gcMinAgeMs, 0);
  });

  it('reads mirrors in order per registry, insecure hosts, the credentials file and the default registry', () => {
    const c = imageOpsConfigFromEnv({
      WARMBOX_REGISTRY_MIRRORS: 'docker.io=http://10.0.0.5:5000, docker.io=https://mirror.example/prefix,ghcr.io=http://10.0.0.6:5000',
      WARMBOX_REGISTRY_INSECURE: 'registry.internal, 10.0.0.7:5000',
      WARMBOX_REGISTRY_AUTH_FILE: '/etc/warmbox/docker-config.json',
      WARMBOX_REGISTRY_DEFAULT: 'registry.internal:5000',
      WARMBOX_PULL_TIMEOUT_MS: '60000',
    });
    assert.deepEqual(c.registry.mirrors, { 'docker.io': ['http://10.0.0.5:5000', 'https://mirror.example/prefix'], 'ghcr.io': ['http://10.0.0.6:5000'] });
    assert.deepEqual(c.registry.insecure, ['registry.internal', '10.0.0.7:5000']);
    assert.equal(c.registry.credentialsFile, '/etc/warmbox/docker-config.json');
    assert.equal(c.registry.defaultRegistry, 'registry.internal:5000');
    assert.equal(c.pullTimeoutMs, 60_000);
  });

  it('bounds what an image unpacks to: 16 GiB and 2 million entries by default, each up to its maximum', () => {
    assert.deepEqual(imageOpsConfigFromEnv({}).unpackBounds, { maxUnpackedBytes: 16 * 1024 ** 3, maxEntries: 2_000_000 });
    const lowered = imageOpsConfigFromEnv({ WARMBOX_IMAGE_MAX_UNPACKED_BYTES: '1048576', WARMBOX_IMAGE_MAX_ENTRIES: '5000' });
    assert.deepEqual(lowered.unpackBounds, { maxUnpackedBytes: 1_048_576, maxEntries: 5000 });
    const above = { WARMBOX_IMAGE_MAX_UNPACKED_BYTES: String(UNPACK_BOUNDS_MAXIMUM.maxUnpackedBytes + 1), WARMBOX_IMAGE_MAX_ENTRIES: '0' };
    assert.throws(() => imageOpsConfigFromEnv(above), (err: unknown) => {
      assert.ok(err instanceof ImageConfigError);
      assert.match(err.message, new RegExp(`WARMBOX_IMAGE_MAX_UNPACKED_BYTES=.*from 1 to ${UNPACK_BOUNDS_MAXIMUM.maxUnpackedBytes}`));
      assert.match(err.message, new RegExp(`WARMBOX_IMAGE_MAX_ENTRIES=.*from 1 to ${UNPACK_BOUNDS_MAXIMUM.maxEntries}`));
      return true;
    });
  });

  it('names every variable that is wrong, and what it takes', () => {
    assert.throws(
      () => imageOpsConfigFromEnv({
        WARMBOX_REGISTRY_MIRRORS: 'docker.io=ftp://x',
        WARMBOX_REGISTRY_AUTH_FILE: 'relative.json',
        WARMBOX_REGISTRY_DEFAULT: 'http://x',
        WARMBOX_PULL_TIMEOUT_MS: 'soon',
      }),
      (err: unknown) => {
        assert.ok(err instanceof ImageConfigError);
        for (const name of ['WARMBOX_REGISTRY_MIRRORS', 'WARMBOX_REGISTRY_AUTH_FILE', 'WARMBOX_REGISTRY_DEFAULT', 'WARMBOX_PULL_TIMEOUT_MS']) {
          assert.match(err.message, new RegExp(name));
        }
        return true;
      },
    );
  });
});
