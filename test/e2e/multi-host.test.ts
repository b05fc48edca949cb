/**
 * Many hosts on one machine (README "Workers on many hosts"): three worker "hosts", each a
 * `warmbox worker` in a network namespace of its own with a data directory of its own (its own
 * snapshot and blob stores), and, in a `core` namespace, one Redis, one PostgreSQL and the API.
 * The namespaces share a bridge with loopback-range addresses only (test/helpers/netns-lan.ts), so
 * a worker reaches Redis, Postgres and the API by address, as from another machine; nothing else
 * is shared but the kernel. The test reaches the API through a forwarder on the machine's loopback.
 *
 *   - jobs spread over all three hosts, each job runs once;
 *   - a host SIGKILLed with its whole process group under load loses no accepted job: its jobs end
 *     `lost` with the reason, or run elsewhere, never twice;
 *   - a host added later takes work within seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobLoad } from '../helpers/job-load.js';
import { assertNothingLost, printOutcomes, runTwice, settle } from '../helpers/job-outcomes.js';
import { leftoversAfter } from '../helpers/leftovers.js';
import { createLan, netnsAvailable, type Netns, type NetnsLan } from '../helpers/netns-lan.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { CLI } from '../helpers/warmbox-server.js';

const TOKEN = randomBytes(24).toString('hex');
const REDIS_PORT = 6379; // inside the test's own namespace: nothing else listens there
const API_PORT = 8080;

interface Proc {
  name: string;
  child: ChildProcess;
  dataDir: string;
  logFile: string;
}

let lan: NetnsLan;
let postgres: TestPostgres;
let redis: ChildProcess;
let api: Proc;
const hosts: Proc[] = [];
let url: string;
let shared: Record<string, string>;

/** Spawns a process in a namespace, its output in a log file beside its data directory. */
function start(ns: Netns, name: string, command: string, args: string[], env: Record<string, string>): Proc {
  const dataDir = mkdtempSync(join(tmpdir(), `warmbox-multi-host-${name}-`));
  const logFile = `${dataDir}.log`;
  const child = ns.spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WARMBOX_DATA: dataDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return { name, child, dataDir, logFile };
}

async function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p === undefined) return;
  if (p.child.exitCode === null && p.child.signalCode === null) {
    const exited = once(p.child, 'exit');
    process.kill(-p.child.pid!, signal);
    await exited;
  }
}

function startHost(ns: Netns): Proc {
  const host = start(ns, `host${hosts.length + 1}`, process.execPath, [CLI, 'worker'], {
    ...shared,
    WARMBOX_API_URL: `http://${lan.core.address}:${API_PORT}`,
    WARMBOX_CONCURRENCY: '2',
    WARMBOX_LOG_LEVEL: 'debug',
  });
  hosts.push(host);
  return host;
}

/** For a failed wait: the error again, with the ends of the processes' logs. */
function withLogs(procs: Proc[]): (err: Error) => never {
  return (err) => {
    const logs = procs.map((p) => `--- ${p.name}:\n${existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8').slice(-2000) : '(no log)'}`);
    throw new Error(`${err.message}\n${logs.join('\n')}`, { cause: err });
  };
}

/** Job ids each process logged as started (`job started`, debug level). */
function started(p: Proc): string[] {
  if (!existsSync(p.logFile)) return [];
  return readFileSync(p.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"job started"'))
    .map((l) => (JSON.parse(l) as { job: string }).job);
}

async function listedWorkers(): Promise<number[]> {
  const view = (await (await fetch(`${url}/v1/pools`)).json()) as { workers: { pid: number }[] };
  return view.workers.map((w) => w.pid);
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) if (await check()) return;
  throw new Error(`timed out waiting until ${what}`);
}

async function runJobs(n: number, cmd: string[]): Promise<string[]> {
  const ids = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd: [...cmd, String(i)] }) });
      const body = (await res.json()) as { id: string };
      assert.equal(res.status, 202, JSON.stringify(body));
      return body.id;
    }),
  );
  const outcomes = await settle(url, ids, 120_000);
  assert.deepEqual(outcomes.lost, [], 'every job finished');
  assert.deepEqual(outcomes.verdicts, { ok: n }, JSON.stringify(outcomes.reasons));
  return ids;
}

describe('multi-host: three worker hosts in network namespaces of their own, one Redis, one Postgres', { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(netnsAvailable(), 'this test needs root and `ip netns` (iproute2): it cannot prove anything without namespaces');
    lan = await createLan(3);
    postgres = await startPostgres({ listenAddress: lan.core.address, spawn: lan.core.spawn });
    // protected-mode would refuse clients other than 127.0.0.1 itself; the namespace is the protection.
    redis = lan.core.spawn('/usr/bin/redis-server', ['--port', String(REDIS_PORT), '--bind', lan.core.address, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let redisOutput = '';
    redis.stdout!.on('data', (d: Buffer) => (redisOutput += d.toString()));
    await until(() => redisOutput.includes('Ready to accept connections'), 'redis-server is ready', 10_000);
    shared = {
      WARMBOX_REDIS_URL: `redis://${lan.core.address}:${REDIS_PORT}`,
      WARMBOX_DATABASE_URL: await postgres.database({ host: lan.core.address }),
      WARMBOX_WORKER_TOKEN: TOKEN,
      WARMBOX_WEBHOOK_SECRET: TOKEN,
      WARMBOX_PREWARM: '',
    };
    api = start(lan.core, 'api', process.execPath, [CLI, 'server'], { ...shared, WARMBOX_ROLE: 'api', WARMBOX_LISTEN: `${lan.core.address}:${API_PORT}`, WARMBOX_LOG_LEVEL: 'info' });
    url = await lan.forward(API_PORT);
    await until(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 'the API answers /healthz').catch(withLogs([api]));
    for (const ns of lan.hosts) startHost(ns);
    await until(async () => (await listedWorkers()).length === 3, 'three workers are listed').catch(withLogs(hosts));
  });

  after(async () => {
    for (const h of hosts) await stop(h);
    await stop(api);
    if (redis && redis.exitCode === null) {
      redis.kill('SIGTERM');
      await once(redis, 'exit');
    }
    await postgres?.stop();
    await lan?.destroy();
    for (const p of [api, ...hosts]) {
      if (p === undefined) continue;
      rmSync(p.dataDir, { recursive: true, force: true });
      rmSync(p.logFile, { force: true });
    }
  });

  it('spreads jobs over all three hosts, each job run once', async () => {
    const ids = await runJobs(60, ['sh', '-c', 'sleep 0.2; echo "$0"']);
    const perHost = hosts.map((h) => started(h).filter((id) => ids.includes(id)).length);
    console.log(`# jobs per host: ${perHost.join(', ')}`);
    for (const [i, n] of perHost.entries()) assert.ok(n > 0, `host ${i + 1} ran none of the 60 jobs (${perHost.join(', ')})`);
    assert.equal(perHost.reduce((a, b) => a + b, 0), 60, 'each job started once, on one host');
  });

  it('loses no accepted job when a host is SIGKILLed with its process group under load', async () => {
    const marker = `warmbox-multi-host-${process.pid}-${Date.now()}`;
    const load = new JobLoad(() => url, (i) => ({ image: 'busybox', cmd: ['sh', '-c', i % 4 === 0 ? 'sleep 1; echo "$1"' : 'echo "$1"', marker, String(i)], limits: { wallTimeMs: 60_000 } }));
    load.start(4);
    await load.untilAccepted(30);
    const victim = hosts[1]!;
    await until(() => started(victim).length > 0, 'the victim host runs jobs');
    await stop(victim, 'SIGKILL');
    await load.untilAccepted(load.accepted.length + 30);
    await load.stop();
    const outcomes = await settle(url, load.accepted, 180_000);
    outcomes.runTwice = runTwice(hosts.map((h) => h.logFile));
    outcomes.refused = Object.fromEntries(load.refused);
    // What the dead host left: its sandboxes' processes, cgroups and mounts (the launcher ends them when its worker dies).
    outcomes.leftovers = await leftoversAfter({ dataDir: victim.dataDir, workerPids: [victim.child.pid!], jobMarker: marker });
    printOutcomes('a worker host SIGKILLed with its process group', outcomes);
    assertNothingLost(outcomes);
    for (const [verdict, n] of Object.entries(outcomes.verdicts)) if (verdict !== 'ok') assert.equal(verdict, 'lost', `${n} × ${verdict}: ${JSON.stringify(outcomes.reasons)}`);
  });

  it('gives work to a host added later within seconds', async () => {
    const added = startHost(lan.addHost());
    await until(async () => (await listedWorkers()).includes(added.child.pid!), 'the new host is listed', 30_000);
    const ids = await runJobs(40, ['sh', '-c', 'sleep 0.2; echo "$0"']);
    const ran = started(added).filter((id) => ids.includes(id)).length;
    console.log(`# jobs on the host added later: ${ran} of 40`);
    assert.ok(ran > 0, 'the host added later ran none of the next 40 jobs');
  });
});
