/**
 * A worker killed with SIGKILL in the middle of a job leaves nothing running: its sandboxes'
 * supervisors see their connections close and tear down, and the next worker on the host reaps
 * any cgroup a dead worker still owns.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setUpCgroups } from '../../runtime/cgroups.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer | undefined;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

/** Processes whose command line mentions `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function cgroupsOf(pid: number): string[] {
  return setUpCgroups().parents.flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => n.startsWith(`w${pid}-`)) : []));
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker killed with SIGKILL mid-job', () => {
  it('leaves no sandbox process and no cgroup behind', async () => {
    server = await startServer({ redisUrl: redis.url });
    const marker = `warmbox-crash-${process.pid}-${Date.now()}`;
    await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'busybox', cmd: ['sh', '-c', `sleep 60; echo ${marker}`], limits: { wallTimeMs: 60_000 } }),
    });
    await eventually(() => processesWith(marker).length > 0, 'the job started');
    const serverPid = server.process.pid!;
    assert.ok(cgroupsOf(serverPid).length > 0, 'the running job has cgroups');

    server.process.kill('SIGKILL');
    await once(server.process, 'exit');

    await eventually(() => processesWith(marker).length === 0, 'the job is gone');
    await eventually(() => processesWith(join(server!.dataDir, 'run')).length === 0, 'no launcher of the dead worker runs');
    await eventually(() => cgroupsOf(serverPid).length === 0, 'its cgroups are removed');
  });

  it('the next worker reaps cgroups a dead worker left', async () => {
    // A dead worker's sandbox cgroup, as if its launcher had been killed too.
    const deadPid = 2 ** 22 - 7; // above any pid_max default: never alive
    const layout = setUpCgroups();
    const placement = layout.placementFor(`w${deadPid}-1`);
    const dirs = placement.version === 'v1' ? [placement.memory, placement.pids, placement.cpuacct] : placement.version === 'v2' ? [placement.unified] : [];
    for (const d of dirs) mkdirSync(d, { recursive: true });
    const next = await startServer({ redisUrl: redis.url });
    try {
      assert.deepEqual(cgroupsOf(deadPid), []);
    } finally {
      await next.stop();
    }
  });
});
