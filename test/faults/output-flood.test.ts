/**
 * Jobs flood their output as fast as they can while others run: the flooders end at their output
 * limit, the others finish as usual (their latency is printed beside a baseline without the flood,
 * for the README; a test asserts no timing), and nothing is lost or left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobBody } from '../helpers/job-load.js';
import type { Outcomes } from '../helpers/job-outcomes.js';
import { FaultRun } from './fault-run.js';

const flood = { on: false };

const jobs = (marker: string): JobBody => (i) =>
  flood.on && i % 4 === 0
    ? { image: 'busybox', cmd: ['sh', '-c', 'yes "$0 $1 flooding its output"', marker, String(i)], limits: { outputBytes: 8 << 20, wallTimeMs: 60_000 }, labels: { kind: 'flood' } }
    : { image: 'busybox', cmd: ['sh', '-c', 'echo "$1"', marker, String(i)], limits: { wallTimeMs: 60_000 }, labels: { kind: 'echo' } };

function medianEchoMs(o: Outcomes, ids: readonly string[]): number {
  const ms = ids.map((id) => o.jobs.get(id)).filter((j) => j?.labels?.kind === 'echo').map((j) => j!.result!.timings!.totalMs).sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)] ?? NaN;
}

describe('faults: output floods', () => {
  it('flooding jobs end at their output limit; the others finish; nothing is lost', async () => {
    const run = await FaultRun.begin({ body: jobs });
    try {
      run.load.start(2);
      await run.load.untilAccepted(40);
      const quiet = run.load.accepted.length;
      flood.on = true;
      await run.load.untilAccepted(quiet + 80);
      const outcomes = await run.finish('jobs flooding their output');
      const flooders = [...outcomes.jobs.values()].filter((j) => j.labels?.kind === 'flood');
      assert.ok(flooders.length > 0, 'some flooding jobs ran');
      for (const j of flooders) assert.equal(j.result?.verdict, 'output_limit', JSON.stringify(j.result));
      for (const j of outcomes.jobs.values()) if (j.labels?.kind === 'echo') assert.equal(j.result?.verdict, 'ok', JSON.stringify(j.result));
      const without = medianEchoMs(outcomes, run.load.accepted.slice(0, quiet));
      const withFlood = medianEchoMs(outcomes, run.load.accepted.slice(quiet));
      console.log(`# fault: echo job end-to-end median: ${without} ms without the flood, ${withFlood} ms beside it (×${(withFlood / without).toFixed(2)})`);
    } finally {
      flood.on = false;
      await run.dispose();
    }
  });
});
