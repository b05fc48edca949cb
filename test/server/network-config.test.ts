/** Network `bridge` configuration: defaults, every variable, and refusals naming the variable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('network configuration', () => {
  it('has defaults: the pool, no allowed range, the host resolvers and default-route uplinks (absent), the prefix', () => {
    const { network } = loadConfig({});
    assert.equal(network.pool, '172.29.0.0/16');
    assert.equal(network.namePrefix, 'wbx');
    assert.deepEqual(network.allow.allowed, { classes: [], cidrs: [] });
    assert.equal(network.dns, undefined);
    assert.equal(network.uplinks, undefined);
  });

  it('reads every variable', () => {
    const { network } = loadConfig({
      WARMBOX_NETWORK_POOL: '10.77.0.0/20',
      WARMBOX_NETWORK_ALLOW: 'private,203.0.113.7',
      WARMBOX_NETWORK_DNS: '9.9.9.9, 1.1.1.1',
      WARMBOX_NETWORK_UPLINKS: 'eth0,ens5',
      WARMBOX_NETWORK_NAME_PREFIX: 'wq',
    });
    assert.equal(network.pool, '10.77.0.0/20');
    assert.deepEqual(network.allow.allowed, { classes: ['private'], cidrs: ['203.0.113.7'] });
    assert.deepEqual(network.dns, ['9.9.9.9', '1.1.1.1']);
    assert.deepEqual(network.uplinks, ['eth0', 'ens5']);
    assert.equal(network.namePrefix, 'wq');
  });

  it('refuses what it cannot use, and says which variable', () => {
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ WARMBOX_NETWORK_POOL: '172.29.0.0/25' }, /WARMBOX_NETWORK_POOL="172.29.0.0\/25": must be a \/8 to \/24/],
      [{ WARMBOX_NETWORK_POOL: 'fd00::/64' }, /WARMBOX_NETWORK_POOL/],
      [{ WARMBOX_NETWORK_ALLOW: 'everything' }, /WARMBOX_NETWORK_ALLOW="everything"/],
      [{ WARMBOX_NETWORK_DNS: '127.0.0.53.1' }, /WARMBOX_NETWORK_DNS/],
      [{ WARMBOX_NETWORK_UPLINKS: 'eth0,../x' }, /WARMBOX_NETWORK_UPLINKS/],
      [{ WARMBOX_NETWORK_NAME_PREFIX: 'warmbox' }, /WARMBOX_NETWORK_NAME_PREFIX="warmbox": expected 1 to 4 lowercase letters/],
    ];
    for (const [env, message] of refused) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
  });
});
