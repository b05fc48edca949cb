import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLines } from '../../runtime/launcher-event-lines.js';

describe('launcher event lines', () => {
  it('gives events in order, however the lines were cut, and the log lines apart', async () => {
    const logged: string[] = [];
    const lines = new EventLines((line) => logged.push(line));
    lines.push('rea');
    lines.push('dy\nwarmbox-launcher: a note\nresult status=exited code=0 signal=0 exec_errno=0 wall_us=1 cpu_us=1 ');
    lines.push('memory_peak_bytes=1 oom_kills=0 limit=none output_bytes=0 truncated=none\n');
    assert.deepEqual(await lines.next(), { type: 'ready' });
    assert.equal((await lines.next())?.type, 'result');
    assert.deepEqual(logged, ['warmbox-launcher: a note']);
  });

  it('notes `gone` without handing it out as an event, even when nobody waits', async () => {
    const lines = new EventLines(() => {});
    assert.equal(lines.gone, false);
    lines.push('gone\n');
    lines.end();
    assert.equal(lines.gone, true);
    assert.equal(await lines.next(), undefined);
  });

  it('answers a waiting next() with undefined once the connection ends, a second end changing nothing', async () => {
    const lines = new EventLines(() => {});
    const waiting = lines.next();
    lines.end();
    lines.end();
    assert.equal(await waiting, undefined);
  });

  it('rejects the next() of a line that is no event', async () => {
    const lines = new EventLines(() => {});
    lines.push('bogus\n');
    await assert.rejects(lines.next(), /unexpected launcher event/);
  });
});
