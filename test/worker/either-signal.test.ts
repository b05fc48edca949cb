import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eitherSignal } from '../../worker/either-signal.js';

describe('eitherSignal', () => {
  it('aborts when either source does, with that source’s reason', () => {
    for (const which of [0, 1]) {
      const sources = [new AbortController(), new AbortController()];
      const { signal } = eitherSignal(sources[0]!.signal, sources[1]!.signal);
      assert.equal(signal!.aborted, false);
      sources[which]!.abort(`reason ${which}`);
      assert.equal(signal!.aborted, true);
      assert.equal(signal!.reason, `reason ${which}`);
    }
  });

  it('after release, a source that aborts reaches it no more', () => {
    const a = new AbortController();
    const b = new AbortController();
    const { signal, release } = eitherSignal(a.signal, b.signal);
    release();
    b.abort();
    assert.equal(signal!.aborted, false);
  });

  it('is the one source when the other is absent, and an aborted source as it is', () => {
    const a = new AbortController();
    assert.equal(eitherSignal(a.signal, undefined).signal, a.signal);
    assert.equal(eitherSignal(undefined, a.signal).signal, a.signal);
    assert.equal(eitherSignal(undefined, undefined).signal, undefined);
    const gone = AbortSignal.abort('done');
    assert.equal(eitherSignal(a.signal, gone).signal, gone);
  });
});
