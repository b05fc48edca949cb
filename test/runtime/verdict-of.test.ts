import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LauncherResult } from '../../runtime/launcher-protocol.js';
import { internalErrorOf, verdictOf } from '../../runtime/verdict-of.js';

const base: LauncherResult = {
  status: 'exited', code: 0, signal: 0, execErrno: 0, wallUs: 1, cpuUs: 1, memoryPeakBytes: 1, oomKills: 0, limit: 'none', outputBytes: 0, truncated: 'none',
};

describe('verdictOf', () => {
  it('decides from evidence, in order of precedence', () => {
    assert.equal(verdictOf(base), 'ok');
    assert.equal(verdictOf({ ...base, code: 1 }), 'nonzero_exit');
    assert.equal(verdictOf({ ...base, status: 'signaled', signal: 11 }), 'signaled');
    assert.equal(verdictOf({ ...base, status: 'signaled', signal: 24 }), 'cpu_time_limit');
    assert.equal(verdictOf({ ...base, status: 'killed', limit: 'wall' }), 'time_limit');
    assert.equal(verdictOf({ ...base, status: 'killed', limit: 'cpu' }), 'cpu_time_limit');
    assert.equal(verdictOf({ ...base, status: 'killed', limit: 'output' }), 'output_limit');
    assert.equal(verdictOf({ ...base, status: 'killed', limit: 'cancel' }), 'cancelled');
    assert.equal(verdictOf({ ...base, status: 'killed' }), 'internal_error');
  });

  it('calls a SIGKILL a memory limit only when the cgroup counted an OOM kill', () => {
    assert.equal(verdictOf({ ...base, status: 'signaled', signal: 9 }), 'signaled');
    assert.equal(verdictOf({ ...base, status: 'signaled', signal: 9, oomKills: 1 }), 'memory_limit');
    assert.equal(verdictOf({ ...base, code: 137 }), 'nonzero_exit');
  });

  it('says what went wrong for internal_error only: the init died without reporting the job', () => {
    assert.match(internalErrorOf({ ...base, status: 'killed' }) ?? '', /the sandbox's init died before the job ended/);
    assert.equal(internalErrorOf(base), undefined);
    assert.equal(internalErrorOf({ ...base, status: 'killed', limit: 'wall' }), undefined);
  });
});
