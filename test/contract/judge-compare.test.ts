/** The judge's comparisons as specifications: each mode on the cases judges argue about. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareOutput, linesOf, numbersClose, tokensOf, type CompareMode } from '../../contract/judge-compare.js';
import { runVerdictOf, verdictOfRun } from '../../contract/judge.js';
import type { JobResult } from '../../contract/job-payload.js';

const b = (s: string) => Buffer.from(s);
const same = (actual: string, expected: string, how: CompareMode) => compareOutput(b(actual), b(expected), how).same;
const EXACT: CompareMode = { mode: 'exact' };
const LINES: CompareMode = { mode: 'trailing_whitespace' };
const TOKENS: CompareMode = { mode: 'tokens' };
const float = (abs: number, rel: number): CompareMode => ({ mode: 'float', absoluteTolerance: abs, relativeTolerance: rel });

describe('exact', () => {
  it('accepts the same bytes only, and names the first differing byte', () => {
    assert.equal(same('42\n', '42\n', EXACT), true);
    assert.equal(same('42', '42\n', EXACT), false);
    assert.equal(same('', '', EXACT), true);
    const r = compareOutput(b('abcX'), b('abcd'), EXACT);
    assert.deepEqual(r, { same: false, reason: 'differs at byte 3 (output 4 bytes, expected 4)' });
  });

  it('compares bytes, not text: invalid UTF-8 and NUL bytes are bytes like any', () => {
    assert.equal(compareOutput(Buffer.from([0xff, 0, 1]), Buffer.from([0xff, 0, 1]), EXACT).same, true);
    assert.equal(compareOutput(Buffer.from([0xff, 0, 1]), Buffer.from([0xfe, 0, 1]), EXACT).same, false);
  });
});

describe('trailing whitespace', () => {
  it('ignores blanks and \\r at line ends and empty lines at the end', () => {
    assert.equal(same('1 2  \r\n3\t\n\n\n', '1 2\n3', LINES), true);
    assert.equal(same('1 2', '1 2\n', LINES), true);
    assert.equal(same('', '\n\n', LINES), true);
  });

  it('keeps blanks inside a line, at its start, and empty lines in the middle', () => {
    assert.equal(same('1  2\n', '1 2\n', LINES), false);
    assert.equal(same(' 1\n', '1\n', LINES), false);
    assert.equal(same('1\n\n2\n', '1\n2\n', LINES), false);
  });

  it('says which line differs, or which side ran out', () => {
    assert.deepEqual(compareOutput(b('a\nb\nc\n'), b('a\nx\nc\n'), LINES), { same: false, reason: 'line 2 differs' });
    assert.deepEqual(compareOutput(b('a\n'), b('a\nb\n'), LINES), { same: false, reason: 'output ends at line 2; more lines expected' });
    assert.deepEqual(compareOutput(b('a\nb\n'), b('a\n'), LINES), { same: false, reason: 'output has more lines than expected (line 2)' });
  });

  it('walks lines as ranges of the buffer', () => {
    const buf = b('ab  \ncd\r\n\n');
    assert.deepEqual([...linesOf(buf)].map(([s, e]) => buf.subarray(s, e).toString()), ['ab', 'cd']);
  });
});

describe('tokens', () => {
  it('accepts the same tokens whatever the whitespace between them', () => {
    assert.equal(same('1\n  2\t3\r\n', '1 2 3', TOKENS), true);
    assert.equal(same('', ' \n ', TOKENS), true);
  });

  it('refuses a missing, an extra or a different token', () => {
    assert.deepEqual(compareOutput(b('1 2'), b('1 2 3'), TOKENS), { same: false, reason: 'output ends at token 3; more tokens expected' });
    assert.deepEqual(compareOutput(b('1 2 3'), b('1 2'), TOKENS), { same: false, reason: 'output has more tokens than expected (token 3)' });
    assert.deepEqual(compareOutput(b('1 2 4'), b('1 2 3'), TOKENS), { same: false, reason: 'token 3 differs' });
    assert.equal(same('12', '1 2', TOKENS), false);
    assert.equal(same('1.0', '1', TOKENS), false, 'tokens are text: numbers are compared by `float`');
  });

  it('walks tokens as ranges of the buffer', () => {
    const buf = b('  a bb\n\tccc ');
    assert.deepEqual([...tokensOf(buf)].map(([s, e]) => buf.subarray(s, e).toString()), ['a', 'bb', 'ccc']);
  });
});

describe('floats', () => {
  it('accepts numbers within the absolute OR the relative tolerance', () => {
    assert.equal(same('3.1416', '3.14159', float(1e-3, 0)), true);
    assert.equal(same('3.15', '3.14159', float(1e-3, 0)), false);
    assert.equal(same('1000001', '1000000', float(0, 1e-6)), true, 'relative to the expected value');
    assert.equal(same('1000002', '1000000', float(0, 1e-6)), false);
    assert.equal(same('1e-9', '0', float(1e-6, 0)), true);
    assert.equal(same('-0.0', '0', float(0, 0)), true);
  });

  it('writes numbers as judges do, and compares words exactly', () => {
    assert.equal(same('1.5E+2', '150', float(1e-9, 0)), true);
    assert.equal(same('.5', '0.5', float(0, 0)), true);
    assert.equal(same('YES 1.0', 'YES 1', float(0, 0)), true);
    assert.equal(same('yes 1.0', 'YES 1', float(0, 0)), false);
    assert.equal(same('0x10', '16', float(0, 0)), false, 'no hex');
    assert.equal(same('nan', 'nan', float(0, 0)), true, 'the same word');
    assert.equal(same('inf', '1e400', float(1, 1)), false, 'infinity matches nothing numerically');
    assert.equal(same('1 2', '1', float(1, 1)), false, 'a missing or extra number is a difference');
  });

  it('refuses an overlong token as a number (no regex walk over megabytes)', () => {
    assert.equal(numbersClose(b('1'.repeat(100)), b('1'.repeat(99) + '2'), 1e300, 1), false);
  });
});

describe('big outputs', () => {
  it('compares tens of megabytes in one pass', () => {
    const line = '123456789 987654321\n';
    const big = Buffer.from(line.repeat(1_000_000));
    assert.equal(compareOutput(big, big, TOKENS).same, true);
    assert.equal(compareOutput(big, big, LINES).same, true);
    const changed = Buffer.from(big);
    changed[changed.length - 3] = 0x30;
    assert.deepEqual(compareOutput(changed, big, LINES), { same: false, reason: 'line 1000000 differs' });
  });
});

const result = (over: Partial<JobResult>): JobResult => ({
  verdict: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false,
  usage: { cpuTimeMs: 1, wallTimeMs: 2, memoryPeakBytes: 3 }, start: 'warm',
  timings: { queuedMs: 0, pullMs: 0, acquireMs: 0, runMs: 0, totalMs: 0 }, ...over,
});

describe('a test job\'s verdict', () => {
  it('maps each job verdict to the judge\'s', () => {
    assert.equal(verdictOfRun(result({})), undefined, 'exit 0: compare the output');
    assert.equal(verdictOfRun(result({ verdict: 'time_limit' }))?.verdict, 'time_limit');
    assert.equal(verdictOfRun(result({ verdict: 'cpu_time_limit' }))?.verdict, 'time_limit');
    assert.equal(verdictOfRun(result({ verdict: 'memory_limit' }))?.verdict, 'memory_limit');
    assert.equal(verdictOfRun(result({ verdict: 'output_limit' }))?.verdict, 'output_limit');
    assert.deepEqual(verdictOfRun(result({ verdict: 'nonzero_exit', exitCode: 3 })), { verdict: 'runtime_error', message: 'exit code 3' });
    assert.deepEqual(verdictOfRun(result({ verdict: 'signaled', exitCode: null, signal: 'SIGSEGV' })), { verdict: 'runtime_error', message: 'killed by SIGSEGV' });
    assert.equal(verdictOfRun(result({ verdict: 'lost', error: 'worker died' }))?.verdict, 'internal_error');
  });

  it('the run\'s verdict is the first failing test\'s, in test order', () => {
    assert.equal(runVerdictOf([{ index: 0, status: 'finished', verdict: 'accepted' }, { index: 1, status: 'finished', verdict: 'time_limit' }, { index: 2, status: 'finished', verdict: 'wrong_answer' }]), 'time_limit');
    assert.equal(runVerdictOf([{ index: 0, status: 'finished', verdict: 'accepted' }]), 'accepted');
  });
});
