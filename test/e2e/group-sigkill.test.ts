/**
 * SIGKILL to the whole process group of `warmbox server` (what a service manager does when a stop
 * outlasts its timeout) under running jobs that left daemons: nothing of it survives — no process
 * of its sandbox uids, no sandbox cgroup, no mount under its data directory, no launcher process,
 * no private redis-server. Repeated: a survivor used to show up in some rounds only.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setUpCgroups } from '../../runtime/cgroups.js';
import { DAEMON_JOB, killLeftovers, waitForSandboxOf, type SandboxChain } from '../helpers/sandbox-processes.js';
import { exitOf, leftoversAfter } from '../helpers/server-leftovers.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const ROUNDS = 3;
const JOBS = 3;
const UID_BASE = 235_000;
const UID_COUNT = 16;
const BOUND_MS = 30_000;

const dataDirs: string[] = [];
after(() => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

async function daemonJob(server: TestServer, label: string): Promise<SandboxChain> {
  const marker = `warmbox-groupkill-${label}-${process.pid}-${Date.now()}`;
  const res = await fetch(`${server.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'busybox', cmd: ['sh', '-c', DAEMON_JOB, marker], limits: { wallTimeMs: 300_000 } }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return waitForSandboxOf(marker, setUpCgroups().parents);
}

describe('e2e: SIGKILL to the server\'s whole process group', () => {
  it(`leaves nothing of its sandboxes, launchers or Redis (${ROUNDS} rounds of ${JOBS} running jobs)`, async () => {
    const uids = Array.from({ length: UID_COUNT }, (_, i) => UID_BASE + i);
    for (let round = 1; round <= ROUNDS; round++) {
      const server = await startServer({
        detached: true,
        env: { WARMBOX_CONCURRENCY: String(JOBS), WARMBOX_SANDBOX_UID: String(UID_BASE), WARMBOX_SANDBOX_UID_COUNT: String(UID_COUNT), WARMBOX_POOL_MAX: '4' },
      });
      dataDirs.push(server.dataDir);
      const chains: SandboxChain[] = [];
      try {
        for (let j = 0; j < JOBS; j++) chains.push(await daemonJob(server, `${round}-${j}`));
        const t0 = performance.now();
        process.kill(-server.process.pid!, 'SIGKILL');
        await exitOf(server.process, t0);
        const left = await leftoversAfter({ dataDir: server.dataDir, pid: server.process.pid!, uids }, BOUND_MS);
        console.log(`# round ${round}: ${JOBS} running jobs, leftovers ${left.length}${left.length ? `: ${left.join('; ')}` : ''}`);
        assert.deepEqual(left, [], `round ${round}: nothing is left ${BOUND_MS} ms after the kill`);
      } finally {
        for (const c of chains) killLeftovers(c);
        if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
      }
    }
  });
});
