/**
 * How a judge compares a test's output with the expected output: pure functions over bytes. Each
 * walks both buffers once, token by token or line by line, without splitting them into arrays or
 * decoding them to strings, so an output of many megabytes costs one pass and no copy. They answer
 * with a short reason for the first difference (what a judge shows a contestant), never the output.
 */

export type CompareMode =
  /** Byte for byte. */
  | { mode: 'exact' }
  /** Line by line, ignoring spaces, tabs and `\r` at line ends and empty lines at the end. */
  | { mode: 'trailing_whitespace' }
  /** The same whitespace-separated tokens, in order. */
  | { mode: 'tokens' }
  /** Tokens; where both are numbers they match within absolute OR relative tolerance. */
  | { mode: 'float'; absoluteTolerance: number; relativeTolerance: number };

export type Comparison = { same: true } | { same: false; reason: string };

const SAME: Comparison = { same: true };

export function compareOutput(actual: Buffer, expected: Buffer, how: CompareMode): Comparison {
  switch (how.mode) {
    case 'exact':
      return compareExact(actual, expected);
    case 'trailing_whitespace':
      return compareLines(actual, expected);
    case 'tokens':
      return compareTokens(actual, expected, (a, b) => a.equals(b));
    case 'float':
      return compareTokens(actual, expected, (a, b) => numbersClose(a, b, how.absoluteTolerance, how.relativeTolerance));
  }
}

export function compareExact(actual: Buffer, expected: Buffer): Comparison {
  if (actual.equals(expected)) return SAME;
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  return { same: false, reason: `differs at byte ${i} (output ${actual.length} bytes, expected ${expected.length})` };
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

function isSpace(b: number): boolean {
  return b === SPACE || b === TAB || b === CR || b === LF || b === 0x0b || b === 0x0c;
}

/** [start, end) of each line without its trailing spaces, tabs and `\r`; empty lines at the end left out. */
export function* linesOf(buf: Buffer): Generator<[number, number]> {
  let end = buf.length;
  while (end > 0 && isSpace(buf[end - 1]!)) end--; // trailing blank lines (and the last line's blanks)
  let start = 0;
  while (start < end) {
    let nl = buf.indexOf(LF, start);
    if (nl === -1 || nl > end) nl = end;
    let stop = nl;
    while (stop > start && (buf[stop - 1] === SPACE || buf[stop - 1] === TAB || buf[stop - 1] === CR)) stop--;
    yield [start, stop];
    start = nl + 1;
  }
}

export function compareLines(actual: Buffer, expected: Buffer): Comparison {
  const a = linesOf(actual);
  const e = linesOf(expected);
  for (let line = 1; ; line++) {
    const x = a.next();
    const y = e.next();
    if (x.done && y.done) return SAME;
    if (x.done) return { same: false, reason: `output ends at line ${line}; more lines expected` };
    if (y.done) return { same: false, reason: `output has more lines than expected (line ${line})` };
    if (!actual.subarray(...x.value).equals(expected.subarray(...y.value))) return { same: false, reason: `line ${line} differs` };
  }
}

/** [start, end) of each whitespace-separated token. */
export function* tokensOf(buf: Buffer): Generator<[number, number]> {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    while (i < n && isSpace(buf[i]!)) i++;
    if (i >= n) return;
    const start = i;
    while (i < n && !isSpace(buf[i]!)) i++;
    yield [start, i];
  }
}

function compareTokens(actual: Buffer, expected: Buffer, match: (a: Buffer, b: Buffer) => boolean): Comparison {
  const a = tokensOf(actual);
  const e = tokensOf(expected);
  for (let token = 1; ; token++) {
    const x = a.next();
    const y = e.next();
    if (x.done && y.done) return SAME;
    if (x.done) return { same: false, reason: `output ends at token ${token}; more tokens expected` };
    if (y.done) return { same: false, reason: `output has more tokens than expected (token ${token})` };
    if (!match(actual.subarray(...x.value), expected.subarray(...y.value))) return { same: false, reason: `token ${token} differs` };
  }
}

/** A decimal number as judges write them: sign, digits, fraction, exponent; nothing else (no hex, no `inf`). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Equal tokens match; two numbers match within abs OR rel·|expected|; a number never matches a word. */
export function numbersClose(actual: Buffer, expected: Buffer, abs: number, rel: number): boolean {
  if (actual.equals(expected)) return true;
  if (actual.length > 64 || expected.length > 64) return false;
  const a = actual.toString('latin1');
  const e = expected.toString('latin1');
  if (!NUMBER.test(a) || !NUMBER.test(e)) return false;
  const x = Number(a);
  const y = Number(e);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  const diff = Math.abs(x - y);
  return diff <= abs || diff <= rel * Math.abs(y);
}
