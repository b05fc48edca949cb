/**
 * The server is stopped under load as an operator or a service manager stops it: SIGTERM to its
 * process, SIGINT to its whole process group (Ctrl-C), and a second signal during the stop. It
 * exits (0 for the first signal), and every job accepted before reaches a final state after the
 * next start, once; nothing is left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultRun } from './fault-run.js';

describe('faults: the server is stopped under load', () => {
  for (const [signal, group] of [['SIGTERM', false], ['SIGINT', true]] as const) {
    const what = `${signal} to the server${group ? '\'s whole process group' : ''}`;
    it(`${what}: exits 0; every accepted job reaches a verdict, once; nothing is left`, async () => {
      const run = await FaultRun.begin();
      try {
        run.load.start(4);
        await run.load.untilAccepted(60);
        const stop = await run.kill(signal, { group });
        console.log(`# fault: ${what} under load: exited ${stop.code ?? stop.signal} after ${stop.ms} ms`);
        assert.equal(stop.code, 0, `a stop by ${signal} must exit 0`);
        assert.deepEqual(await run.jobProcessesAfter(0), [], 'a stopped server leaves no job running');
        await run.restart();
        await run.finish(`${what} under load`);
      } finally {
        await run.dispose();
      }
    });
  }

  it('a second SIGTERM during the stop exits at once; every accepted job still reaches a verdict, once', async () => {
    const run = await FaultRun.begin();
    try {
      run.load.start(4);
      await run.load.untilAccepted(60);
      const pid = run.server!.process.pid!;
      const stopping = run.kill('SIGTERM');
      await sleep(100);
      process.kill(pid, 'SIGTERM');
      const stop = await stopping;
      console.log(`# fault: two SIGTERMs under load: exited ${stop.code ?? stop.signal} after ${stop.ms} ms`);
      assert.deepEqual(await run.jobProcessesAfter(), [], 'a server stopped at once leaves no job running');
      await run.restart();
      await run.finish('two SIGTERMs under load');
    } finally {
      await run.dispose();
    }
  });
});
