import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UidRange, UidRangeExhaustedError } from '../../runtime/uid-range.js';

describe('UidRange', () => {
  it('gives each live sandbox its own uid and takes them back', () => {
    const r = new UidRange(100000, 2);
    const a = r.take();
    const b = r.take();
    assert.deepEqual([a, b], [100000, 100001]);
    assert.throws(() => r.take(), UidRangeExhaustedError);
    r.release(a);
    assert.equal(r.take(), a);
  });

  it('with one uid, every sandbox shares it', () => {
    const r = new UidRange(65534, 1);
    assert.equal(r.take(), 65534);
    assert.equal(r.take(), 65534);
    assert.equal(r.inUse, 0);
  });

  it('never hands out root', () => {
    assert.throws(() => new UidRange(0, 5), RangeError);
  });
});
