/** Redis URLs as WARMBOX_REDIS_URL takes them, down to the options ioredis and BullMQ get. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redisOptions } from '../../server/redis-connection.js';

describe('redisOptions', () => {
  it('reads a plain URL: host, port, credentials, db, TLS', () => {
    const o = redisOptions('rediss://app:p%40ss@redis.internal:6380/2');
    assert.deepEqual([o.host, o.port, o.username, o.password, o.db, o.tls], ['redis.internal', 6380, 'app', 'p@ss', 2, {}]);
  });

  it('reads a unix socket path', () => {
    assert.equal(redisOptions('unix:///run/redis/redis.sock').path, '/run/redis/redis.sock');
  });

  it('reads a Sentinel URL: every sentinel, the master name, the master credentials, the db, the sentinels password', () => {
    const o = redisOptions('redis-sentinel://:secret@10.0.0.1:26379,10.0.0.2,s3.internal:26380/mymaster/3?sentinelPassword=s%21');
    assert.deepEqual(o.sentinels, [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26379 },
      { host: 's3.internal', port: 26380 },
    ]);
    assert.equal(o.name, 'mymaster');
    assert.equal(o.password, 'secret');
    assert.equal(o.username, undefined);
    assert.equal(o.db, 3);
    assert.equal(o.sentinelPassword, 's!');
    assert.equal(o.tls, undefined);
    assert.equal(o.maxRetriesPerRequest, null, 'BullMQ blocks on these connections');
  });

  it('turns TLS on for both the master and the sentinels with rediss-sentinel', () => {
    const o = redisOptions('rediss-sentinel://127.0.0.1:26379/m');
    assert.deepEqual([o.tls, o.sentinelTLS, o.enableTLSForSentinelMode], [{}, {}, true]);
  });

  it('refuses a Sentinel URL without a master name, without echoing its password', () => {
    assert.throws(() => redisOptions('redis-sentinel://:hunter2@127.0.0.1:26379'), (err: Error) => {
      assert.match(err.message, /MASTER-NAME/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });

  it('redacts passwords in URLs it prints', () => {
    assert.equal(redact('redis://app:hunter2@h:1/0'), 'redis://app:***@h:1/0');
    assert.equal(redact('redis-sentinel://:hunter2@a:1,b:2/m'), 'redis-sentinel://:***@a:1,b:2/m');
    assert.equal(redact('redis://h:1'), 'redis://h:1');
  });
});
