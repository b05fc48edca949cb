/**
 * The server's log, as an operator collects it (stdout and stderr, not a terminal: JSON lines):
 * exactly one "job finished" line per job, carrying the job's and the worker's ids, its verdict,
 * exit code, start, timings, usage and image; one "job refused" line, with its code, for a job the
 * API refused; and never what a job carried or printed (stdin, files, env values, output), which
 * may be secrets — neither as they are nor base64-encoded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const SECRETS = {
  stdin: 'stdin-secret-6c1f0e',
  file: 'file-secret-91ab2d',
  env: 'env-secret-4e77c3',
  refused: 'refused-secret-0d5a88',
};

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_LOG_LEVEL: 'debug' } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

type LogLine = Record<string, unknown> & { msg: string };

function logLines(): LogLine[] {
  return readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`a log line that is not JSON (stdout is not a terminal): ${line}`);
      }
    });
}

async function submit(body: object): Promise<{ http: number; id?: string; result?: { stdout: string; stderr: string } }> {
  const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { ...((await res.json()) as { id?: string; result?: { stdout: string; stderr: string } }), http: res.status };
}

/** The worker logs a job's line right after the answer may have gone out: wait for it. */
async function finishedLines(id: string, timeoutMs = 20_000): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = logLines().filter((l) => l.msg === 'job finished' && l.job === id);
    if (lines.length > 0 || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('e2e: the server log', () => {
  const ids: string[] = [];

  it('logs one "job finished" line per job, with its job and worker ids, verdict, exit code, start, timings, usage and image', async () => {
    const echoing = await submit({
      image: 'busybox',
      cmd: ['sh', '-c', 'cat; cat secret.txt; echo "$TOKEN"; echo "$TOKEN" >&2'],
      stdin: SECRETS.stdin,
      files: [{ path: 'secret.txt', content: SECRETS.file }],
      env: { TOKEN: SECRETS.env },
    });
    assert.equal(echoing.http, 200);
    assert.equal(echoing.result?.stdout, `${SECRETS.stdin}${SECRETS.file}${SECRETS.env}\n`, 'the job did see and print its secrets');
    const failing = await submit({ image: 'busybox', cmd: ['sh', '-c', 'exit 3'] });
    assert.equal(failing.http, 200);
    ids.push(echoing.id!, failing.id!);

    for (const [id, verdict, exitCode] of [[echoing.id!, 'ok', 0], [failing.id!, 'nonzero_exit', 3]] as const) {
      const lines = await finishedLines(id);
      assert.equal(lines.length, 1, `one "job finished" line for ${id}: ${JSON.stringify(lines)}`);
      const line = lines[0]!;
      assert.equal(line.level, 30, 'info');
      assert.match(String(line.worker), /^.+-\d+$/, 'the worker id: hostname-pid');
      assert.equal(line.verdict, verdict);
      assert.equal(line.exitCode, exitCode);
      assert.ok(line.start === 'warm' || line.start === 'cold', String(line.start));
      assert.equal(line.image, 'docker.io/library/busybox:latest');
      for (const t of ['queuedMs', 'acquireMs', 'runMs', 'totalMs']) assert.equal(typeof (line.timings as Record<string, unknown>)[t], 'number', t);
      for (const u of ['cpuTimeMs', 'wallTimeMs', 'memoryPeakBytes']) assert.equal(typeof (line.usage as Record<string, unknown>)[u], 'number', u);
      assert.equal(line.trace_id, undefined, 'no span without a tracing SDK');
    }
  });

  it('logs a refused job once, with the code it answered', async () => {
    const before = logLines().filter((l) => l.msg === 'job refused').length;
    const refused = await submit({ image: 'busybox', cmd: ['true'], env: { TOKEN: SECRETS.refused }, limits: { memoryBytes: 2 ** 50 } });
    assert.equal(refused.http, 422);
    await new Promise((r) => setTimeout(r, 200));
    const lines = logLines().filter((l) => l.msg === 'job refused').slice(before);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]!.code, 'above_maximum');
    assert.equal(lines[0]!.status, 422);
  });

  it('every line about a job on the worker carries the worker id', () => {
    for (const line of logLines().filter((l) => ids.includes(String(l.job)))) assert.ok(line.worker, JSON.stringify(line));
  });

  it("never logs a job's stdin, files, env values or output, as they are or base64-encoded", () => {
    const log = readFileSync(server.logFile, 'utf8');
    assert.ok(log.length > 0);
    for (const [what, secret] of Object.entries(SECRETS)) {
      assert.ok(!log.includes(secret), `the log holds the job's ${what}`);
      assert.ok(!log.includes(Buffer.from(secret).toString('base64').slice(0, 16)), `the log holds the job's ${what}, base64-encoded`);
    }
  });
});
