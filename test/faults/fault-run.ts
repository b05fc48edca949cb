/**
 * One fault scenario against real `warmbox server` processes: start a server, keep jobs coming,
 * break something, start again where the scenario needs it, then count what became of every job
 * that was accepted and what was left on the host.
 *
 *   const run = await FaultRun.begin({ redisUrl });
 *   run.load.start();
 *   await run.load.untilAccepted(60);
 *   await run.kill('SIGKILL', { group: true });
 *   await run.restart();
 *   await run.finish('SIGKILL of the whole group');   // prints the counts, asserts lost = 0 …
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { JobLoad, type JobBody } from '../helpers/job-load.js';
import { assertNothingLost, printOutcomes, runTwice, settle, type Outcomes } from '../helpers/job-outcomes.js';
import { leftoversAfter } from '../helpers/leftovers.js';
import { processesWith } from '../helpers/sandbox-processes.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

export interface FaultRunOptions {
  /** Undefined: each server's private Redis, in the data directory. */
  redisUrl?: string;
  /** Where the data directory is made (e.g. a small disk of the test's own). */
  parentDir?: string;
  env?: Record<string, string>;
  /** The jobs; default: mostly `echo`, every 8th sleeps a second (so some are running at any time). */
  body?: (marker: string) => JobBody;
}

/** Two jobs at a time: a backlog builds up, so every kill finds jobs queued and running. */
const SERVER_ENV = { WARMBOX_CONCURRENCY: '2', WARMBOX_LOG_LEVEL: 'debug' };

export const mixedJobs = (marker: string): JobBody => (i) => ({
  image: 'busybox',
  cmd: ['sh', '-c', i % 8 === 0 ? 'sleep 1; echo "$1"' : 'echo "$1"', marker, String(i)],
  limits: { wallTimeMs: 60_000 },
});

export class FaultRun {
  /** The server now taking requests; undefined between a kill and the next start. */
  server?: TestServer;
  readonly load: JobLoad;
  readonly marker = `warmbox-fault-${process.pid}-${Date.now()}`;
  private readonly logFiles: string[] = [];
  private readonly workerPids: number[] = [];
  /** Set once finish() has counted and found nothing wrong. */
  private finished = false;

  /** The servers' logs: beside the data directory, not in it, so that they survive a full data disk and the run. */
  private readonly logDir = mkdtempSync(join(tmpdir(), 'warmbox-fault-logs-'));

  private constructor(
    readonly dataDir: string,
    private readonly opts: FaultRunOptions,
  ) {
    this.load = new JobLoad(() => this.server?.url, (opts.body ?? mixedJobs)(this.marker));
  }

  static async begin(opts: FaultRunOptions = {}): Promise<FaultRun> {
    const run = new FaultRun(mkdtempSync(join(opts.parentDir ?? tmpdir(), 'warmbox-fault-')), opts);
    try {
      await run.restart();
    } catch (err) {
      await run.dispose(); // the caller never gets the run to dispose of
      throw err;
    }
    return run;
  }

  /** Starts a server on the run's data directory (and Redis), in a process group of its own. */
  async restart(): Promise<TestServer> {
    const server = await startServer({ redisUrl: this.opts.redisUrl, dataDir: this.dataDir, logDir: this.logDir, detached: true, env: { ...SERVER_ENV, ...this.opts.env } });
    this.logFiles.push(server.logFile);
    this.workerPids.push(server.process.pid!);
    this.server = server;
    return server;
  }

  /** Signals the server (or its whole process group) and waits for it to exit; returns its exit status. */
  async kill(signal: NodeJS.Signals, opts: { group?: boolean; boundMs?: number } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const server = this.server;
    assert.ok(server, 'no server to kill');
    this.server = undefined;
    const child = server.process;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
    const t0 = performance.now();
    process.kill(opts.group ? -child.pid! : child.pid!, signal);
    const bound = opts.boundMs ?? 120_000;
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`the server did not exit within ${bound} ms of ${signal}`)), bound).unref())]);
    return { code: child.exitCode, signal: child.signalCode, ms: Math.round(performance.now() - t0) };
  }

  /** Processes of the run's jobs still alive after boundMs: none once their worker is dead. */
  async jobProcessesAfter(boundMs = 30_000): Promise<number[]> {
    let pids = processesWith(this.marker);
    for (const deadline = Date.now() + boundMs; pids.length > 0 && Date.now() < deadline; await sleep(100)) pids = processesWith(this.marker);
    return pids;
  }

  /**
   * Settles every accepted job on the running server, stops it with SIGTERM, and counts: prints
   * the scenario's line and asserts nothing was lost, run twice or left behind.
   */
  async finish(scenario: string, boundMs = 180_000): Promise<Outcomes> {
    await this.load.stop();
    const server = this.server ?? (await this.restart());
    const outcomes = await settle(server.url, this.load.accepted, boundMs);
    const stop = await this.kill('SIGTERM');
    assert.equal(stop.code, 0, `the last server's SIGTERM stop must exit 0 (got ${stop.code ?? stop.signal})`);
    outcomes.runTwice = runTwice(this.logFiles);
    outcomes.leftovers = await leftoversAfter({ dataDir: this.dataDir, workerPids: this.workerPids, jobMarker: this.marker });
    outcomes.refused = Object.fromEntries(this.load.refused);
    printOutcomes(scenario, outcomes);
    assertNothingLost(outcomes);
    this.finished = true;
    return outcomes;
  }

  /**
   * Removes the data directory; safe to call twice and after a failed scenario, for which it first
   * prints what the servers logged at warn level and above (the logs go with the directory).
   */
  async dispose(): Promise<void> {
    await this.load.stop();
    if (this.server) await this.kill('SIGKILL', { group: true }).catch(() => undefined);
    if (!this.finished) for (const line of this.warnings()) console.log(`# server log: ${line}`);
    rmSync(this.dataDir, { recursive: true, force: true });
    rmSync(this.logDir, { recursive: true, force: true });
  }

  /** The servers' log lines at warn level (40) and above, at most the last 40. */
  private warnings(): string[] {
    const lines = this.logFiles.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n') : []));
    return lines.filter((l) => !l.startsWith('{') || Number(/"level":(\d+)/.exec(l)?.[1] ?? 50) >= 40).filter(Boolean).slice(-40);
  }
}
