/**
 * A job floods its output as fast as it can while others run: the flooders end at their output
 * limit and the others still finish `ok`. The others' latency is printed beside a baseline
 * measured without the flood in the same run (for the README; no timing is asserted), and nothing
 * is lost or left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultRun } from './fault-run.js';

const FLOOD_BYTES = 8 << 20;

interface Waited {
  id: string;
  verdict: string;
  ms: number;
}

/** Runs one job with ?wait=true and returns its verdict and the latency the client saw. */
async function runWaiting(url: string, body: object): Promise<Waited> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const job = (await res.json()) as { id: string; result?: { verdict: string } };
  assert.equal(res.status, 200, JSON.stringify(job).slice(0, 500));
  return { id: job.id, verdict: job.result?.verdict ?? 'none', ms: performance.now() - t0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

describe('faults: output floods', () => {
  it('flooding jobs end at their output limit; jobs beside them finish ok; nothing is lost', async () => {
    const run = await FaultRun.begin();
    const url = run.server!.url;
    const echo = (i: number) => ({ image: 'busybox', cmd: ['sh', '-c', 'echo "$1"', run.marker, String(i)] });
    const flood = { image: 'busybox', cmd: ['sh', '-c', 'yes "$0 flooding its output"', run.marker], limits: { outputBytes: FLOOD_BYTES } };
    const echoes = async (n: number): Promise<Waited[]> => {
      const out: Waited[] = [];
      for (let i = 0; i < n; i++) out.push(await runWaiting(url, echo(i)));
      return out;
    };
    try {
      const quiet = await echoes(30);
      const floods: Waited[] = [];
      let flooding = true;
      const flooder = (async () => {
        while (flooding) floods.push(await runWaiting(url, flood));
      })();
      const beside = await echoes(30);
      flooding = false;
      await flooder;
      for (const w of [...quiet, ...beside, ...floods]) run.load.accepted.push(w.id);
      assert.ok(floods.length > 0, 'some flooding jobs ran');
      for (const f of floods) assert.equal(f.verdict, 'output_limit');
      for (const e of [...quiet, ...beside]) assert.equal(e.verdict, 'ok');
      const without = median(quiet.map((w) => w.ms));
      const withFlood = median(beside.map((w) => w.ms));
      console.log(
        `# fault: an echo job's latency (median of 30, ?wait=true): ${without} ms alone, ${withFlood} ms beside jobs flooding ${FLOOD_BYTES >> 20} MiB each ` +
          `(×${(withFlood / without).toFixed(2)}); ${floods.length} floods, median ${median(floods.map((w) => w.ms))} ms`,
      );
      await run.finish('jobs flooding their output');
    } finally {
      await run.dispose();
    }
  });
});
