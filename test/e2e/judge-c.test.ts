/**
 * A C solution judged end to end, compiled once by a real gcc in a sandbox: the `c` preset's build
 * and run commands in an image made from this host's gcc (test/helpers/host-gcc-image.ts; the
 * recipe image needs a Debian mirror). One build, then a verdict per test from what the binary
 * really does: accepted, wrong answer, a time limit, a memory limit (it touches the memory), a
 * runtime error by signal, an output limit; and a compile error with gcc's own message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hostGccArchive, hostGccAvailable } from '../helpers/host-gcc-image.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const GCC_IMAGE = 'localhost/warmbox-test/gcc:host';

const SOLUTION = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  char what[16];
  if (scanf("%15s", what) != 1) return 2;
  if (!strcmp(what, "add")) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 2; printf("%ld\\n", a + b); return 0; }
  if (!strcmp(what, "loop")) { volatile unsigned long n = 0; for (;;) n++; }
  if (!strcmp(what, "memory")) { for (;;) { char *p = malloc(1 << 20); if (!p) return 3; memset(p, 1, 1 << 20); } }
  if (!strcmp(what, "segv")) { volatile int *p = 0; return *p; }
  if (!strcmp(what, "flood")) { for (;;) puts("yes"); }
  return 4;
}
`;

const skip = hostGccAvailable() ? false : 'this host has no gcc to make the toolchain image from';

describe('judging C (compiled once by gcc in a sandbox)', { skip }, () => {
  let redis: TestRedis;
  let server: TestServer;

  before(async () => {
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url });
    const archive = await hostGccArchive(GCC_IMAGE, [SOLUTION]);
    const res = await fetch(`${server.url}/v1/images/import?wait=true`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(archive) });
    assert.ok(res.status < 300, `import: ${res.status} ${await res.text()}`);
  }, { timeout: 300_000 });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  const judge = async (body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/v1/judge?wait=true&timeout=240000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'c', image: GCC_IMAGE, buildLimits: { wallTimeMs: 60000, cpuTimeMs: 60000, memoryBytes: 512 << 20 }, ...body }),
    });
    return (await res.json()) as any;
  };

  it('gives each test the verdict of what the binary does', { timeout: 300_000 }, async () => {
    const run = await judge({
      source: SOLUTION,
      limits: { wallTimeMs: 3000, cpuTimeMs: 1000, memoryBytes: 64 << 20 },
      tests: [
        { stdin: 'add 2 40', expected: '42' },
        { stdin: 'add 2 2', expected: '5' },
        { stdin: 'loop' },
        { stdin: 'memory', limits: { wallTimeMs: 30000, cpuTimeMs: 20000 } },
        { stdin: 'segv' },
        { stdin: 'flood', limits: { outputBytes: 65536 } },
        { stdin: 'add 1000000000000 1', expected: '1000000000001' },
      ],
    });
    assert.equal(run.build?.verdict, 'ok', JSON.stringify(run.build));
    assert.deepEqual(run.tests.map((t: any) => t.verdict), ['accepted', 'wrong_answer', 'time_limit', 'memory_limit', 'runtime_error', 'output_limit', 'accepted'], JSON.stringify(run.tests, null, 1));
    assert.equal(run.tests[4].signal, 'SIGSEGV');
    assert.ok(run.tests[3].usage.memoryPeakBytes >= 32 << 20, 'the memory test touched its memory');
    const jobs = ((await (await fetch(`${server.url}/v1/jobs?label=warmbox.judge=${run.id}&limit=100`)).json()) as { jobs: any[] }).jobs;
    assert.equal(jobs.length, run.tests.length + 1, 'gcc ran once: one build job, one job per test');
  });

  it('answers compile_error with gcc\'s message', { timeout: 300_000 }, async () => {
    const run = await judge({ source: 'int main(void) { return 0 }\n', tests: [{ expected: '' }] });
    assert.equal(run.verdict, 'compile_error');
    assert.match(run.build.output, /main\.c:1:\d+: error: expected ';'/);
  });
});
