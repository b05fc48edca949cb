import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { appendOutput, endOutput, OUTPUT_START, readOutput } from '../../queue/output-stream.js';
import { OUTPUT_STREAM_TTL_S, outputStreamKey } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

describe('output stream', () => {
  let server: TestRedis;
  let redis: Redis;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('round-trips binary chunks exactly, in order, then the end', async () => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a]);
    const text = Buffer.from('héllo\n', 'utf8');
    // Not awaited one by one: a connection keeps the order commands were issued in.
    await Promise.all([
      appendOutput(redis, 'bin', 'stdout', everyByte),
      appendOutput(redis, 'bin', 'stderr', invalidUtf8),
      appendOutput(redis, 'bin', 'stdout', text),
    ]);
    await endOutput(redis, 'bin');

    const entries = await readOutput(redis, 'bin', OUTPUT_START, null);
    assert.deepEqual(
      entries.map((e) => e.type),
      ['stdout', 'stderr', 'stdout', 'end'],
    );
    const [a, b, c] = entries;
    assert.ok(a?.type === 'stdout' && a.data.equals(everyByte));
    assert.ok(b?.type === 'stderr' && b.data.equals(invalidUtf8));
    assert.ok(c?.type === 'stdout' && c.data.equals(text));

    const afterFirst = await readOutput(redis, 'bin', a.id, null);
    assert.equal(afterFirst.length, 3, 'reads resume after a given entry id');
  });

  it('expires: a TTL from the first chunk, renewed at the end', async () => {
    await appendOutput(redis, 'ttl', 'stdout', Buffer.from('x'));
    const ttl = await redis.ttl(outputStreamKey('ttl'));
    assert.ok(ttl > 0 && ttl <= OUTPUT_STREAM_TTL_S, `ttl ${ttl}`);
    await endOutput(redis, 'ttl');
    assert.ok((await redis.ttl(outputStreamKey('ttl'))) > 0);
  });

  it('a blocking read wakes on the next chunk, and returns [] on timeout', async () => {
    const reader = redis.duplicate();
    try {
      assert.deepEqual(await readOutput(reader, 'live', OUTPUT_START, 50), []);
      const pending = readOutput(reader, 'live', OUTPUT_START, 5_000);
      await appendOutput(redis, 'live', 'stdout', Buffer.from('now'));
      const entries = await pending;
      assert.equal(entries.length, 1);
      assert.ok(entries[0]?.type === 'stdout' && entries[0].data.toString() === 'now');
    } finally {
      reader.disconnect();
    }
  });

  it('a blocking read is cancelled by disconnecting its connection', async () => {
    const reader = redis.duplicate();
    const pending = readOutput(reader, 'never', OUTPUT_START, 0);
    await new Promise((r) => setTimeout(r, 20));
    reader.disconnect();
    await assert.rejects(pending);
  });
});
