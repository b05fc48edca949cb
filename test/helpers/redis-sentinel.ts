/**
 * A Redis master, a replica and one Sentinel watching them, each on a free loopback port, for tests
 * of warmbox on `redis-sentinel://` URLs and of a failover under load. One sentinel (quorum 1)
 * decides alone: enough to make a real failover happen, not a production layout.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './warmbox-server.js';
import { startRedis, type TestRedis } from './redis.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export const SENTINEL_MASTER = 'wbmaster';

export interface TestSentinelSet {
  master: TestRedis;
  replica: TestRedis;
  sentinelPort: number;
  /** `redis-sentinel://127.0.0.1:PORT/wbmaster` */
  url: string;
  /** The port of the Redis the sentinel calls master now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSentinelSet(): Promise<TestSentinelSet> {
  const master = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  const dir = await makeTempDir('sentinel');
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  // The sentinel rewrites its file as it learns the set: it must be writable.
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
      `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
      '',
    ].join('\n'),
  );
  const sentinel = spawn('/usr/bin/redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => sentinel.kill('SIGKILL');
  process.once('exit', killOnExit);
  sentinel.stdout.resume();
  sentinel.stderr.resume();
  const ask = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  const set: TestSentinelSet = {
    master,
    replica,
    sentinelPort,
    url: `redis-sentinel://127.0.0.1:${sentinelPort}/${SENTINEL_MASTER}`,
    masterPort: () => ask(async (r) => Number(((await r.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as string[])[1])),
    async stop() {
      process.off('exit', killOnExit);
      if (sentinel.exitCode === null && sentinel.signalCode === null) {
        sentinel.kill('SIGTERM');
        await once(sentinel, 'exit');
      }
      await replica.stop();
      await master.stop();
      await removeTempDir(dir);
    },
  };
  try {
    await until(async () => (await set.masterPort().catch(() => 0)) === master.port, 'the sentinel knows the master');
    await until(async () => /master_link_status:up/.test(await replicationOf(replica.port)), 'the replica is in sync');
    const replicasKnown = () => ask(async (r) => ((await r.call('SENTINEL', 'replicas', SENTINEL_MASTER)) as unknown[]).length).catch(() => 0);
    await until(async () => (await replicasKnown()) > 0, 'the sentinel knows the replica');
  } catch (err) {
    await set.stop();
    throw err;
  }
  return set;
}

async function replicationOf(port: number): Promise<string> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.info('replication');
  } catch {
    return '';
  } finally {
    r.disconnect();
  }
}

export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) if (await check()) return;
  throw new Error(`timed out waiting until ${what}`);
}
