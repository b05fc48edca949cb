/**
 * Two real sandboxes connected stdout to stdin (runtime/sandbox-pair.ts): a dialogue, one side
 * ending first, both sides writing and never reading (each blocked, as on a kernel pipe, until its
 * wall limit), each side's own limits, and a cancel that ends both. runPair always settles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { runPair, type PairRequest } from '../../runtime/sandbox-pair.js';
import type { RunResult } from '../../runtime/sandbox.js';
import { envOf } from '../../worker/job-command.js';
import { describeRun, SandboxFixture } from '../helpers/sandbox-fixture.js';

let fx: SandboxFixture;
before(async () => {
  fx = await SandboxFixture.open('sandbox-pair');
});
after(async () => {
  await fx?.teardown();
});

function side(script: string, limits: Partial<PairRequest> = {}): PairRequest {
  return { ...DEFAULT_LIMITS, wallTimeMs: 10_000, cpuTimeMs: 5_000, argv: ['sh', '-c', script], env: envOf({ env: {} }, fx.busybox.config), files: [], ...limits };
}

async function pair(a: PairRequest, b: PairRequest): Promise<[RunResult, RunResult]> {
  const [x, y] = [await fx.createSandbox(), await fx.createSandbox()];
  try {
    return await runPair(x, a, y, b);
  } finally {
    await Promise.all([x.destroy(), y.destroy()]);
  }
}

describe('runPair', () => {
  it('carries a dialogue both ways, each side with its own stdout kept and its own stderr', { timeout: 60_000 }, async () => {
    const [a, b] = await pair(
      side('for i in 1 2 3; do echo $i; read r; echo "a got $r" >&2; done'),
      side('while read n; do echo $((n * 10)); done; echo "b saw EOF" >&2'),
    );
    assert.equal(a.verdict, 'ok', describeRun(a));
    assert.equal(b.verdict, 'ok', describeRun(b));
    assert.equal(a.stdout.toString(), '1\n2\n3\n');
    assert.equal(a.stderr.toString(), 'a got 10\na got 20\na got 30\n');
    assert.equal(b.stdout.toString(), '10\n20\n30\n');
    assert.equal(b.stderr.toString(), 'b saw EOF\n');
  });

  it('a side that ends leaves the other reading EOF; what the other writes afterwards never blocks it', { timeout: 60_000 }, async () => {
    const [a, b] = await pair(side('exit 7'), side('cat; echo "EOF" >&2; head -c 4000000 /dev/zero; echo "wrote on" >&2', { outputBytes: 8 << 20 }));
    assert.equal(a.exitCode, 7, describeRun(a));
    assert.equal(b.verdict, 'ok', describeRun(b));
    assert.equal(b.stderr.toString(), 'EOF\nwrote on\n');
  });

  it('two sides that write and never read block as on a pipe, each until its own wall limit; runPair settles', { timeout: 60_000 }, async () => {
    const flood = 'head -c 50000000 /dev/zero; echo "not blocked" >&2';
    const [a, b] = await pair(side(flood, { wallTimeMs: 1500, outputBytes: 64 << 20 }), side(flood, { wallTimeMs: 2500, outputBytes: 64 << 20 }));
    assert.equal(a.verdict, 'time_limit', describeRun(a));
    assert.equal(b.verdict, 'time_limit', describeRun(b));
    assert.equal(a.stderr.toString(), '');
    assert.equal(b.stderr.toString(), '');
  });

  it("a side's limits are its own: the other's output and memory limits do not touch it", { timeout: 60_000 }, async () => {
    const [a, b] = await pair(side('yes', { outputBytes: 4096 }), side(`awk 'BEGIN { s = "x"; while (1) s = s s }'`, { memoryBytes: 32 << 20 }));
    assert.equal(a.verdict, 'output_limit', describeRun(a));
    assert.equal(b.verdict, 'memory_limit', describeRun(b));
  });

  it('a cancel ends both sides, even while both are blocked writing to each other', { timeout: 60_000 }, async () => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 1000);
    const flood = 'head -c 50000000 /dev/zero; sleep 100';
    const [a, b] = await pair(side(flood, { signal: cancel.signal, wallTimeMs: 60_000, outputBytes: 64 << 20 }), side('sleep 100', { signal: cancel.signal, wallTimeMs: 60_000 }));
    assert.equal(a.verdict, 'cancelled', describeRun(a));
    assert.equal(b.verdict, 'cancelled', describeRun(b));
  });
});
