/**
 * A job's live output is coalesced while Redis is busy: a flood of small chunks becomes a few
 * entries, in order, every byte kept, and the stream gets its TTL; flushed() resolves only once
 * all of it is in the stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { OUTPUT_START, OutputAppender, readOutput } from '../../queue/output-stream.js';
import { outputStreamKey } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let server: TestRedis;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

async function readAll(id: string) {
  const entries = [];
  for (let from = OUTPUT_START; ; ) {
    const batch = await readOutput(redis, id, from, null, 1000);
    if (batch.length === 0) return entries;
    entries.push(...batch);
    from = batch.at(-1)!.id;
  }
}

describe('queue: OutputAppender', () => {
  it('joins chunks written while an append is in flight, keeping every byte in order per channel', async () => {
    const appender = new OutputAppender(redis, 'flood', (err) => assert.fail(String(err)));
    const written: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.from(`line ${i}\n`);
      written.push(chunk);
      appender.write('stdout', chunk);
    }
    appender.write('stderr', Buffer.from('done\n'));
    await appender.flushed();
    const entries = await readAll('flood');
    assert.ok(entries.length < 100, `2000 chunks written at once must be coalesced, got ${entries.length} entries`);
    const stdout = Buffer.concat(entries.flatMap((e) => (e.type === 'stdout' ? [e.data] : [])));
    assert.deepEqual(stdout, Buffer.concat(written));
    const last = entries.at(-1)!;
    assert.equal(last.type, 'stderr');
    assert.equal(last.type === 'stderr' && last.data.toString(), 'done\n');
    assert.ok((await redis.ttl(outputStreamKey('flood'))) > 0, 'the stream has a TTL');
  });

  it('sends a lone chunk at once, as its own entry', async () => {
    const appender = new OutputAppender(redis, 'quiet', (err) => assert.fail(String(err)));
    appender.write('stdout', Buffer.from('hello\n'));
    await appender.flushed();
    const entries = await readAll('quiet');
    assert.equal(entries.length, 1);
  });
});
