/**
 * The CLI after `docker run`: `run -d` with --name, labels, --cpus, --env-file, -w, --entrypoint
 * and --rm; `ps`, `logs [-f]` and `wait`, as a user types them, against a real server and Redis.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;
let env: Record<string, string>;
let dir: string;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url });
  env = { WARMBOX_URL: server.url };
  dir = mkdtempSync(join(tmpdir(), 'warmbox-cli-jobs-'));
});
after(async () => {
  await server?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `warmbox run -d ARGS`: the job's id. */
async function detached(args: string[]): Promise<string> {
  const r = await runCli(['run', '-d', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function job(id: string): Promise<any> {
  return (await fetch(`${server.url}/v1/jobs/${id}`)).json();
}

describe('warmbox run, the flags after docker run', () => {
  it('-d prints the id at once; --name, -l, --cpus, --env-file, -w, --entrypoint and --rm reach the job', async () => {
    const envFile = join(dir, 'env');
    writeFileSync(envFile, '# a comment\nFROM_FILE=file value\n\nOVERRIDDEN=file\n');
    const name = `n-${randomUUID()}`;
    const r = await runCli(
      ['run', '-d', '--rm', '--name', name, '-l', 'team=a', '--cpus', '0.5', '--env-file', envFile, '-e', 'OVERRIDDEN=flag', '-w', '/tmp/work/dir', '--entrypoint', 'sh', 'busybox', '-c', 'pwd; echo "$FROM_FILE|$OVERRIDDEN"'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9A-Z]{26}$/);
    const w = await runCli(['wait', id], env);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout, '0\n');
    const done = await job(id);
    assert.equal(done.result.stdout, '/tmp/work/dir\nfile value|flag\n', JSON.stringify(done.result));
    assert.deepEqual(done.labels, { name, team: 'a' });
  });

  it('refuses a network other than none, and says --rm changes nothing in --help', async () => {
    const r = await runCli(['run', '--network', 'host', 'busybox', 'true'], env);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /network/);
    const help = await runCli(['run', '--help'], env);
    for (const flag of ['--workdir', '--entrypoint', '--network', '--env-file', '--cpus', '--name', '--label', '--detach', '--rm']) assert.ok(help.stdout.includes(flag), flag);
    assert.match(help.stdout, /--rm[\s\S]*single-use/);
  });

  it('-w into a place the job cannot create ends with 126 and says why', async () => {
    const r = await runCli(['run', '-w', '/etc/cannot/here', 'busybox', 'true'], env);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /working directory \/etc\/cannot\/here/);
  });
});

describe('warmbox ps, logs and wait', () => {
  it('ps lists running and queued jobs (-q ids, --format json), -a the finished ones too', async () => {
    const name = `ps-${randomUUID()}`;
    const sleeping = await detached(['--name', name, 'busybox', 'sleep', '30']);
    const finished = await detached(['--name', `${name}-done`, 'busybox', 'true']);
    await runCli(['wait', finished], env);
    try {
      const quiet = await runCli(['ps', '-q'], env);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.ok(quiet.stdout.split('\n').includes(sleeping), quiet.stdout);
      assert.ok(!quiet.stdout.includes(finished), 'a finished job is not in ps without -a');
      const table = await runCli(['ps'], env);
      assert.match(table.stdout, /^JOB ID\s+IMAGE\s+STATUS\s+CREATED\s+NAME/);
      assert.match(table.stdout, new RegExp(`${sleeping}\\s+busybox:latest\\s+(queued|running)\\s+.*${name}`));
      const all = await runCli(['ps', '-a', '--format', 'json', '--filter', `label=name=${name}-done`], env);
      const rows = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(rows.map((j) => [j.id, j.status, j.verdict, j.exitCode]), [[finished, 'finished', 'ok', 0]]);
    } finally {
      await fetch(`${server.url}/v1/jobs/${sleeping}/cancel`, { method: 'POST' });
    }
  });

  it('logs prints a finished job\'s stdout and stderr apart; logs -f follows a running one to its end', async () => {
    const id = await detached(['busybox', 'sh', '-c', 'echo out; echo err >&2; sleep 1; echo later']);
    const followed = await runCli(['logs', '-f', id], env);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, 'out\nlater\n');
    assert.equal(followed.stderr, 'err\n');
    const logs = await runCli(['logs', id], env);
    assert.equal(logs.stdout, 'out\nlater\n');
    assert.equal(logs.stderr, 'err\n');
  });

  it('wait prints and exits with the job\'s status (3), and 137 for a job killed by a limit', async () => {
    const three = await detached(['busybox', 'sh', '-c', 'exit 3']);
    const w = await runCli(['wait', three], env);
    assert.equal(w.code, 3, w.stderr);
    assert.equal(w.stdout, '3\n');
    const slow = await detached(['--timeout', '200ms', 'busybox', 'sleep', '10']);
    const killed = await runCli(['wait', slow], env);
    assert.equal(killed.code, 137, killed.stderr);
    assert.equal(killed.stdout, '137\n');
  });
});
