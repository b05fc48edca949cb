import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitStatus, splitAtImage } from '../../cli/commands/run.js';
import { parseDuration, parseSize, UsageError } from '../../cli/units.js';
import { parseUlimits } from '../../cli/ulimit.js';

describe('warmbox run arguments', () => {
  it('ends options at the image, like docker', () => {
    assert.deepEqual(splitAtImage(['-e', 'A=1', 'busybox', 'ls', '-la']), { options: ['-e', 'A=1'], image: 'busybox', command: ['ls', '-la'] });
    assert.deepEqual(splitAtImage(['--memory', '64m', 'busybox', '--', 'sh', '-c', 'x']), { options: ['--memory', '64m'], image: 'busybox', command: ['sh', '-c', 'x'] });
    assert.deepEqual(splitAtImage(['-i', '--', 'busybox', 'true']), { options: ['-i'], image: 'busybox', command: ['true'] });
    assert.deepEqual(splitAtImage(['--help']), { options: ['--help'], command: [] });
  });

  it('reads sizes and durations as people type them', () => {
    assert.equal(parseSize('64m', '-m'), 64 * 1024 * 1024);
    assert.equal(parseSize('1g', '-m'), 1024 ** 3);
    assert.equal(parseSize('512KiB', '-m'), 512 * 1024);
    assert.equal(parseDuration('500ms', '--timeout'), 500);
    assert.equal(parseDuration('2', '--timeout'), 2000);
    assert.equal(parseDuration('1.5m', '--timeout'), 90_000);
    assert.throws(() => parseSize('lots', '-m'), UsageError);
    assert.throws(() => parseDuration('-1s', '--timeout'), UsageError);
  });

  it('takes --ulimit as docker does, for stack, nofile and fsize', () => {
    assert.deepEqual(parseUlimits(['stack=67108864']), { stackBytes: 64 * 1024 * 1024 });
    assert.deepEqual(parseUlimits(['stack=8m:16m', 'nofile=128:128', 'fsize=1g']), { stackBytes: 8 * 1024 * 1024, openFiles: 128, fileSizeBytes: 1024 ** 3 });
    assert.throws(() => parseUlimits(['nproc=10']), /NAME one of stack, nofile, fsize/);
    assert.throws(() => parseUlimits(['stack=2m:1m']), /above the hard limit/);
    assert.throws(() => parseUlimits(['stack']), UsageError);
  });

  it('exits like docker run', () => {
    const job = (result: object) => ({ id: 'j', status: 'finished', result: { exitCode: null, signal: null, ...result } as any });
    assert.equal(exitStatus(job({ verdict: 'nonzero_exit', exitCode: 3 })), 3);
    assert.equal(exitStatus(job({ verdict: 'signaled', signal: 'SIGSEGV' })), 139);
    assert.equal(exitStatus(job({ verdict: 'memory_limit', signal: 'SIGKILL' })), 137);
    assert.equal(exitStatus(job({ verdict: 'internal_error', error: 'x' })), 125);
  });
});
