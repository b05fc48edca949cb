/**
 * Interactive problems end to end: a real server, Redis and sandboxes. Guess the number in busybox
 * sh: the interactor reads the secret from input.txt and the most guesses allowed from answer.txt,
 * and answers each guess `higher`, `lower` or `correct`; the solutions play well, badly, not at all,
 * or break their limits, and a broken interactor is never the solution's fault. Afterwards nothing
 * of any pair is left: no process, no cgroup, no mount.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { leftoversAfter } from '../helpers/server-leftovers.js';
import { processesWith } from '../helpers/sandbox-processes.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const UID_BASE = 236_000;
const UID_COUNT = 32;
/** In the argv of every solution and interactor these tests run: what must be gone afterwards. */
const MARKER = `warmbox-interactive-${process.pid}-${Date.now()}`;

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_SANDBOX_UID: String(UID_BASE), WARMBOX_SANDBOX_UID_COUNT: String(UID_COUNT) } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** testlib's order: input.txt output.txt answer.txt after the command (and our marker before them). */
const INTERACTOR = `read n < "$2"; read most < "$4"; tries=0
while read guess; do
  tries=$((tries + 1))
  if [ "$tries" -gt "$most" ]; then echo "more than $most guesses" >&2; exit 1; fi
  if [ "$guess" -lt "$n" ]; then echo higher
  elif [ "$guess" -gt "$n" ]; then echo lower
  else echo correct; echo "found $n in $tries guesses" >&2; exit 0; fi
done
echo "the solution stopped after $tries guesses" >&2; exit 1
`;

const BISECT = `lo=1; hi=1000
while :; do
  mid=$(( (lo + hi) / 2 )); echo $mid
  read answer || exit 0
  case $answer in higher) lo=$((mid + 1));; lower) hi=$((mid - 1));; correct) exit 0;; esac
done
`;

const SOLUTIONS: Record<string, string> = {
  bisect: BISECT,
  linear: 'i=1; while :; do echo $i; read a || exit 0; [ "$a" = correct ] && exit 0; i=$((i + 1)); done\n',
  silent: 'sleep 1000\n',
  once: 'echo 1; exit 0\n',
  memory: `awk 'BEGIN { s = "x"; while (1) s = s s }'\n`,
  exit3: 'echo 500; read a; exit 3\n',
};

function interactive(solution: string, tests: { n: number; most: number }[], interactor: Record<string, unknown> = {}, more: Record<string, unknown> = {}) {
  return post('/v1/judge?wait=true&timeout=120000', {
    image: 'busybox',
    run: ['sh', 'solution.sh', MARKER],
    files: [{ path: 'solution.sh', content: SOLUTIONS[solution] }],
    limits: { wallTimeMs: 3000, cpuTimeMs: 2000 },
    interactor: { files: [{ path: 'interactor.sh', content: INTERACTOR }], run: ['sh', 'interactor.sh', MARKER], limits: { wallTimeMs: 5000 }, ...interactor },
    tests: tests.map(({ n, most }) => ({ stdin: `${n}\n`, expected: `${most}\n` })),
    ...more,
  });
}

const verdicts = (run: any): string[] => run.tests.map((t: any) => t.verdict);

describe('POST /v1/judge with an interactor', () => {
  it('accepts a solution that plays by the rules; a wrong one is wrong_answer with the interactor\'s message', { timeout: 180_000 }, async () => {
    const { status, json: run } = await interactive('bisect', [{ n: 1, most: 10 }, { n: 500, most: 10 }, { n: 1000, most: 10 }, { n: 377, most: 10 }]);
    assert.equal(status, 200, JSON.stringify(run));
    assert.deepEqual(verdicts(run), ['accepted', 'accepted', 'accepted', 'accepted'], JSON.stringify(run));
    assert.equal(run.verdict, 'accepted');
    assert.match(run.tests[1].message, /^found 500 in 1 guesses$/);
    const { json: bad } = await interactive('linear', [{ n: 3, most: 10 }, { n: 500, most: 10 }]);
    assert.deepEqual(verdicts(bad), ['accepted', 'wrong_answer'], JSON.stringify(bad));
    assert.equal(bad.tests[1].message, 'more than 10 guesses');
    assert.equal(bad.verdict, 'wrong_answer');
    // The job of a test shows the dialogue as the solution wrote it.
    const job = (await (await fetch(`${server.url}/v1/jobs/${bad.tests[0].jobId}`)).json()) as any;
    assert.equal(job.result.stdout, '1\n2\n3\n');
    assert.deepEqual([job.result.interactor.verdict, job.result.interactor.exitCode, job.result.interactor.stderr], ['ok', 0, 'found 3 in 3 guesses\n']);
  });

  it('a solution that never reads hits its wall limit; one that exits early leaves the interactor at EOF: wrong_answer', { timeout: 180_000 }, async () => {
    const { json: silent } = await interactive('silent', [{ n: 5, most: 10 }], {}, { limits: { wallTimeMs: 1500, cpuTimeMs: 1000 } });
    assert.deepEqual(verdicts(silent), ['time_limit'], JSON.stringify(silent));
    const { json: once } = await interactive('once', [{ n: 5, most: 10 }]);
    assert.deepEqual(verdicts(once), ['wrong_answer'], JSON.stringify(once));
    assert.equal(once.tests[0].message, 'the solution stopped after 1 guesses');
    const { json: crash } = await interactive('exit3', [{ n: 5, most: 10 }, { n: 500, most: 10 }]);
    assert.deepEqual(verdicts(crash), ['wrong_answer', 'runtime_error'], JSON.stringify(crash));
    assert.equal(crash.tests[1].exitCode, 3);
  });

  it("a solution's memory limit is its verdict, whatever the interactor said", { timeout: 180_000 }, async () => {
    const { json: run } = await interactive('memory', [{ n: 5, most: 10 }], {}, { limits: { memoryBytes: 32 << 20, wallTimeMs: 30_000, cpuTimeMs: 20_000 } });
    assert.deepEqual(verdicts(run), ['memory_limit'], JSON.stringify(run));
  });

  it('an interactor that crashes or hangs is interactor_error, never the solution\'s fault', { timeout: 180_000 }, async () => {
    const crashing = { files: [{ path: 'interactor.sh', content: 'read guess; kill -SEGV $$\n' }] };
    const { json: crashed } = await interactive('bisect', [{ n: 5, most: 10 }], crashing);
    assert.deepEqual(verdicts(crashed), ['interactor_error'], JSON.stringify(crashed));
    assert.match(crashed.tests[0].message, /the interactor failed \(killed by SIGSEGV\)/);
    const hanging = { files: [{ path: 'interactor.sh', content: 'sleep 1000\n' }], limits: { wallTimeMs: 1000 } };
    const { json: hung } = await interactive('bisect', [{ n: 5, most: 10 }], hanging, { limits: { wallTimeMs: 10_000, cpuTimeMs: 2000 } });
    assert.deepEqual(verdicts(hung), ['interactor_error'], JSON.stringify(hung));
    assert.match(hung.tests[0].message, /wall time limit/);
    const exit2 = { files: [{ path: 'interactor.sh', content: 'echo "bad test data" >&2; exit 2\n' }] };
    const { json: two } = await interactive('bisect', [{ n: 5, most: 10 }], exit2);
    assert.deepEqual(verdicts(two), ['interactor_error'], JSON.stringify(two));
    assert.equal(two.tests[0].message, 'the interactor failed (exit code 2): bad test data');
  });

  it('builds the interactor once like the solution', { timeout: 180_000 }, async () => {
    const build = ['sh', '-c', "{ echo '#!/bin/sh'; cat interactor.sh; } > interactor && chmod 755 interactor && rm interactor.sh"];
    const { json: run } = await interactive('bisect', [{ n: 42, most: 10 }, { n: 999, most: 10 }], { build, run: ['./interactor', MARKER] });
    assert.deepEqual(verdicts(run), ['accepted', 'accepted'], JSON.stringify(run));
  });

  it("gives the interactor a test's input and answer uploaded once as blobs", { timeout: 180_000 }, async () => {
    const blob = async (text: string): Promise<string> => {
      const res = await fetch(`${server.url}/v1/blobs`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: text });
      return ((await res.json()) as { digest: string }).digest;
    };
    const [input, answer] = [await blob('640\n'), await blob('10\n')];
    const { json: run } = await post('/v1/judge?wait=true&timeout=120000', {
      image: 'busybox',
      run: ['sh', 'solution.sh', MARKER],
      files: [{ path: 'solution.sh', content: BISECT }],
      interactor: { files: [{ path: 'interactor.sh', content: INTERACTOR }], run: ['sh', 'interactor.sh', MARKER] },
      tests: [{ stdin: { blob: input }, expected: { blob: answer } }],
    });
    assert.deepEqual(verdicts(run), ['accepted'], JSON.stringify(run));
    assert.match(run.tests[0].message, /^found 640 in \d+ guesses$/);
  });

  it('refuses a checker with an interactor (422)', async () => {
    const { status, json } = await interactive('bisect', [{ n: 1, most: 1 }], {}, { checker: { run: ['true'] } });
    assert.equal(status, 422, JSON.stringify(json));
    assert.equal(json.error.field, 'interactor');
  });

  it('leaves nothing of any pair: no process of theirs while the server runs, no cgroup, mount or process once it stops', { timeout: 120_000 }, async () => {
    const running = processesWith(MARKER);
    assert.deepEqual(running, [], `processes of the pairs still running: ${running.join(' ')}`);
    const pid = server.process.pid!;
    await server.stop();
    const left = await leftoversAfter({ dataDir: server.dataDir, pid, uids: Array.from({ length: UID_COUNT }, (_, i) => UID_BASE + i) }, 30_000);
    assert.deepEqual(left, []);
  });
});
