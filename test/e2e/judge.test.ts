/**
 * Judge runs end to end: a real server, Redis and sandboxes. The solution is a busybox shell
 * program "compiled" by a build step (copied to an executable with a stamp that only the build
 * writes): the build runs once, its output reaches every test as a layer, each test gets its own
 * verdict, and the layer is collected once the run is over. The C and Python presets run in the
 * recipe images (opt-in, test/e2e/judge-languages.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Behaves as its first input line says: a solution that passes, fails and breaks on purpose. */
const SOLUTION = `read what
case "$what" in
  add) read a b; echo $((a + b));;
  stamp) cat stamp;;
  loop) while :; do :; done;;
  memory) awk 'BEGIN { s = "x"; while (1) s = s s }';;
  segv) kill -SEGV $$;;
  exit3) exit 3;;
  flood) yes;;
esac
`;

/** The "compiler": makes ./prog from main.sh and leaves a stamp no test could make again. */
const BUILD = ['sh', '-c', "{ echo '#!/bin/sh'; cat main.sh; } > prog && chmod 755 prog && rm main.sh && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > stamp && echo compiled >&2"];

function judge(tests: unknown[], more: Record<string, unknown> = {}) {
  return post('/v1/judge?wait=true&timeout=120000', {
    image: 'busybox',
    build: BUILD,
    run: ['./prog'],
    files: [{ path: 'main.sh', content: SOLUTION }],
    limits: { wallTimeMs: 5000, cpuTimeMs: 2000 },
    tests,
    ...more,
  });
}

async function jobsOfRun(id: string): Promise<any[]> {
  const res = await fetch(`${server.url}/v1/jobs?label=warmbox.judge=${id}&limit=100`);
  return ((await res.json()) as { jobs: any[] }).jobs;
}

describe('POST /v1/judge', () => {
  it('builds once and gives every test its own verdict and usage', { timeout: 180_000 }, async () => {
    const { status, json: run } = await judge([
      { stdin: 'add\n2 3\n', expected: '5\n' },
      { stdin: 'add\n2 3\n', expected: '6\n' },
      { stdin: 'loop\n', expected: '' },
      { stdin: 'memory\n', expected: '', limits: { memoryBytes: 32 << 20, wallTimeMs: 30000, cpuTimeMs: 20000 } },
      { stdin: 'segv\n', expected: '' },
      { stdin: 'exit3\n', expected: '' },
      { stdin: 'flood\n', expected: '', limits: { outputBytes: 4096 } },
      { stdin: 'stamp\n' },
      { stdin: 'stamp\n' },
    ], { limits: { wallTimeMs: 2000, cpuTimeMs: 500 } });
    assert.equal(status, 200, JSON.stringify(run));
    assert.equal(run.status, 'finished');
    assert.equal(run.build.verdict, 'ok', JSON.stringify(run.build));
    assert.match(run.build.output, /compiled/);
    assert.match(run.build.layer, /^sha256:[0-9a-f]{64}$/);
    const verdicts = run.tests.map((t: any) => t.verdict);
    assert.deepEqual(verdicts, ['accepted', 'wrong_answer', 'time_limit', 'memory_limit', 'runtime_error', 'runtime_error', 'output_limit', 'accepted', 'accepted'], JSON.stringify(run.tests, null, 1));
    assert.equal(run.tests[4].signal, 'SIGSEGV');
    assert.equal(run.tests[5].exitCode, 3);
    assert.equal(run.verdict, 'wrong_answer', 'the first test that failed');
    assert.equal(run.passed, 3);
    for (const t of run.tests) {
      assert.equal(typeof t.usage.cpuTimeMs, 'number');
      assert.ok(t.usage.memoryPeakBytes > 0);
    }
    assert.ok(run.tests[3].usage.memoryPeakBytes >= 16 << 20, 'the memory test really touched its memory');

    const jobs = await jobsOfRun(run.id);
    assert.equal(jobs.length, run.tests.length + 1, 'one build job and one job per test');
    const stamps = await Promise.all([7, 8].map(async (i) => (await (await fetch(`${server.url}/v1/jobs/${run.tests[i].jobId}`)).json()).result.stdout));
    assert.match(stamps[0], /^[0-9a-f]{32}$/);
    assert.equal(stamps[1], stamps[0], 'both tests ran the one build\'s output');

    const got = await (await fetch(`${server.url}/v1/judge/${run.id}`)).json();
    assert.deepEqual(got, run);
  });

  it('answers compile_error with the compiler\'s output and runs no test', { timeout: 120_000 }, async () => {
    const { json: run } = await judge([{ stdin: '', expected: '' }, { stdin: '', expected: '' }], {
      build: ['sh', '-c', 'echo "main.c:1:1: error: expected \';\' before \'}\' token" >&2; exit 1'],
    });
    assert.equal(run.verdict, 'compile_error');
    assert.equal(run.build.verdict, 'compile_error');
    assert.equal(run.build.exitCode, 1);
    assert.match(run.build.output, /error: expected ';'/);
    assert.deepEqual(run.tests.map((t: any) => t.verdict), ['skipped', 'skipped']);
    assert.equal((await jobsOfRun(run.id)).length, 1, 'only the build ran');
  });

  it('stops on the first failure when asked, and skips the rest', { timeout: 120_000 }, async () => {
    const { json: run } = await judge([
      { stdin: 'add\n1 1\n', expected: '2' },
      { stdin: 'add\n1 1\n', expected: '3' },
      { stdin: 'add\n1 1\n', expected: '2' },
      { stdin: 'add\n1 1\n', expected: '2' },
    ], { stopOnFirstFailure: true });
    assert.deepEqual(run.tests.map((t: any) => t.verdict), ['accepted', 'wrong_answer', 'skipped', 'skipped']);
    assert.equal(run.verdict, 'wrong_answer');
    assert.equal((await jobsOfRun(run.id)).length, 3, 'the build and the two tests that ran');
  });

  it('compares as asked: exact, trailing whitespace, tokens, floats within tolerance', { timeout: 120_000 }, async () => {
    const echo = (compare: unknown, pairs: [string, string][]) =>
      post('/v1/judge?wait=true&timeout=120000', { image: 'busybox', run: ['cat'], compare, tests: pairs.map(([stdin, expected]) => ({ stdin, expected })) });
    const verdicts = async (compare: unknown, pairs: [string, string][]) => (await echo(compare, pairs)).json.tests.map((t: any) => t.verdict);
    assert.deepEqual(await verdicts({ mode: 'exact' }, [['1 2\n', '1 2\n'], ['1 2 \n', '1 2\n']]), ['accepted', 'wrong_answer']);
    assert.deepEqual(await verdicts({ mode: 'trailing_whitespace' }, [['1 2 \r\n\n\n', '1 2\n'], ['1  2\n', '1 2\n']]), ['accepted', 'wrong_answer']);
    assert.deepEqual(await verdicts({ mode: 'tokens' }, [['1\n  2\n', '1 2'], ['1 2 3', '1 2']]), ['accepted', 'wrong_answer']);
    assert.deepEqual(await verdicts({ mode: 'float', absoluteTolerance: 1e-3, relativeTolerance: 0 }, [['3.1416 x\n', '3.14159 x'], ['3.15', '3.14159']]), ['accepted', 'wrong_answer']);
  });

  it('asks a custom checker (built once, in its own sandbox) for each verdict; a crashing checker is checker_error', { timeout: 120_000 }, async () => {
    const checker = [
      'read want < "$3"; read got < "$2"',
      'if [ "$got" = crash ]; then kill -SEGV $$; fi',
      'd=$((got - want)); [ $d -lt 0 ] && d=$((-d))',
      'if [ $d -le 1 ]; then echo "off by $d" >&2; exit 0; fi',
      'echo "expected $want give or take 1, got $got" >&2; exit 1',
    ].join('\n');
    const { json: run } = await post('/v1/judge?wait=true&timeout=120000', {
      image: 'busybox',
      run: ['cat'],
      checker: { files: [{ path: 'checker.sh', content: checker }], build: ['sh', '-c', "{ echo '#!/bin/sh'; cat checker.sh; } > chk && chmod 755 chk"], run: ['./chk'] },
      tests: [{ stdin: '5\n', expected: '6\n' }, { stdin: '9\n', expected: '6\n' }, { stdin: 'crash\n', expected: '6\n' }],
    });
    assert.deepEqual(run.tests.map((t: any) => t.verdict), ['accepted', 'wrong_answer', 'checker_error'], JSON.stringify(run));
    assert.equal(run.tests[0].message, 'off by 1');
    assert.equal(run.tests[1].message, 'expected 6 give or take 1, got 9');
    assert.match(run.tests[2].message, /the checker failed \(killed by SIGSEGV\)/);
    assert.equal(run.verdict, 'wrong_answer');
  });

  it('streams progress per test as Server-Sent Events, and GET shows the run', { timeout: 120_000 }, async () => {
    const { status, json: queued } = await post('/v1/judge', { image: 'busybox', run: ['cat'], tests: [{ stdin: 'a', expected: 'a' }, { stdin: 'b', expected: 'c' }] });
    assert.equal(status, 202);
    assert.equal(queued.status, 'queued');
    const text = await (await fetch(`${server.url}/v1/judge/${queued.id}/events`)).text();
    const events = [...text.matchAll(/^event: (\w+)\n(?:id: \d+\n)?data: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]!) }));
    assert.deepEqual(events.filter((e) => e.event === 'test').map((e) => [e.data.index, e.data.verdict]).sort(), [[0, 'accepted'], [1, 'wrong_answer']]);
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal(end.data.verdict, 'wrong_answer');
  });

  it('removes the build image when the run ends, and the store collects its layer', { timeout: 120_000 }, async () => {
    const { json: run } = await judge([{ stdin: 'add\n1 2\n', expected: '3' }]);
    assert.equal(run.verdict, 'accepted');
    const layerDir = join(server.dataDir, 'images', 'layers', 'sha256', run.build.layer.slice('sha256:'.length));
    let images: any;
    for (let i = 0; i < 200; i++) {
      images = await (await fetch(`${server.url}/v1/images`)).json();
      if (!JSON.stringify(images).includes('judge-build') && !existsSync(layerDir)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.doesNotMatch(JSON.stringify(images), /judge-build/, 'the build image is untagged');
    assert.equal(existsSync(layerDir), false, `the build layer is collected (left: ${existsSync(layerDir) ? readdirSync(layerDir).join(', ') : ''})`);
  });
});

describe('test data uploaded once', () => {
  it('takes stdin and expected output as blobs: stdin reaches each test by reference', { timeout: 180_000 }, async () => {
    const upload = async (text: string) => {
      const res = await fetch(`${server.url}/v1/blobs`, { method: 'POST', body: text });
      assert.equal(res.status, 201);
      return ((await res.json()) as { digest: string }).digest;
    };
    const [input, right, wrong] = [await upload('add\n20 22\n'), await upload('42\n'), await upload('41\n')];
    const { status, json: run } = await judge([
      { stdin: { blob: input }, expected: { blob: right } },
      { stdin: { blob: input }, expected: { blob: wrong } },
    ]);
    assert.equal(status, 200);
    assert.deepEqual(run.tests.map((t: any) => t.verdict), ['accepted', 'wrong_answer']);
    const job = await (await fetch(`${server.url}/v1/jobs/${run.tests[0].jobId}`)).json();
    assert.equal((job as any).result.stdout, '42\n');
  });
});

describe('POST /v1/judge refuses bad input with a clear 4xx', () => {
  it('an unknown language, too many tests, a missing blob, neither language nor image', async () => {
    const unknown = await post('/v1/judge', { language: 'cobol-85', source: '', tests: [{}] });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.json.error.code, 'unknown_language');
    const many = await post('/v1/judge', { image: 'busybox', run: ['true'], tests: Array.from({ length: 10_000 }, () => ({})) });
    assert.equal(many.status, 422, JSON.stringify(many.json).slice(0, 300));
    const blob = await post('/v1/judge', { image: 'busybox', run: ['cat'], tests: [{ stdin: { blob: `sha256:${'0'.repeat(64)}` } }] });
    assert.equal(blob.status, 404);
    assert.equal(blob.json.error.code, 'blob_not_found');
    const nothing = await post('/v1/judge', { tests: [{}] });
    assert.equal(nothing.status, 400);
    const missing = await fetch(`${server.url}/v1/judge/01JD3Z8Q8V6W7X9Y0Z1A2B3C4D`);
    assert.equal(missing.status, 404);
  });

  it('GET /v1/languages lists the presets: c, cpp, python, node at least', async () => {
    const langs = (await (await fetch(`${server.url}/v1/languages`)).json()) as any[];
    for (const id of ['c', 'cpp', 'python', 'node']) assert.ok(langs.some((l) => l.id === id && l.image && l.run.length > 0), id);
    assert.ok(langs.find((l) => l.id === 'c').build.includes('gcc'));
  });
});
