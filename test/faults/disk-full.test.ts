/**
 * The data disk fills up under load (a size-limited disk of the test's own holds the data
 * directory: the db, the private Redis's AOF, the image store). Submissions are refused with a
 * clear error while it is full; every job accepted before reaches a final state once there is room
 * again, none runs twice, nothing is left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { FaultRun } from './fault-run.js';

/** Fills the disk at dir: chunk by chunk until it refuses. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(1 << 20, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(filler, chunk, { flag: i === 0 ? 'w' : 'a' });
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      return filler;
    }
  }
}

describe('faults: the data disk fills up under load', () => {
  it('submissions are refused with a clear error while it is full; every accepted job reaches a verdict', async () => {
    const disk = await makeTempDir('fault-disk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=0700', 'warmbox-fault-disk', disk]);
    let run: FaultRun | undefined;
    try {
      run = await FaultRun.begin({ parentDir: disk });
      run.load.start(4);
      await run.load.untilAccepted(40);
      const filler = fill(disk);
      const before = run.load.refusedTotal;
      for (const deadline = Date.now() + 60_000; run.load.refusedTotal < before + 20 && Date.now() < deadline; ) await sleep(100);
      const refusedWhileFull = Object.fromEntries(run.load.refused);
      rmSync(filler);
      await run.load.untilAccepted(run.load.accepted.length + 20);
      const outcomes = await run.finish('the data disk full');
      console.log(`# fault: refused while the disk was full: ${JSON.stringify(refusedWhileFull)}`);
      assert.ok(Object.keys(refusedWhileFull).some((code) => ['storage_full', 'db_unavailable', 'queue_unavailable'].includes(code)), `a full disk is refused with a clear code: ${JSON.stringify(refusedWhileFull)}`);
      assert.equal(outcomes.finished, outcomes.accepted);
    } finally {
      await run?.dispose();
      execFileSync('umount', ['-l', disk]);
      await removeTempDir(disk);
    }
  });
});
