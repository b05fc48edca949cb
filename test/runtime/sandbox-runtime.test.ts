/** The runtime as a library: real sandboxes of the built-in busybox image, through the zygote. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuiltinImages } from '../../images/builtin-images.js';
import { SnapshotStore, type StoredImage } from '../../images/image-store.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { launcherPath } from '../../contract/paths.js';
import { SandboxPools } from '../../runtime/sandbox-pools.js';
import { SandboxRuntime } from '../../runtime/sandbox-runtime.js';
import { UnusableWorkdirError } from '../../runtime/unusable-workdir-error.js';

let dir: string;
let runtime: SandboxRuntime;
let busybox: StoredImage;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-runtime-'));
  const store = new SnapshotStore(join(dir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  busybox = (await store.resolve('busybox'))!;
  runtime = await SandboxRuntime.open({ runDir: join(dir, 'run'), launcherPath: launcherPath(), uid: 65534, gid: 65534 });
});
after(async () => {
  await runtime?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], more: Partial<Parameters<Awaited<ReturnType<SandboxRuntime['create']>>['run']>[0]> = {}) {
  const box = await runtime.create(busybox, { diskBytes: DEFAULT_LIMITS.diskBytes });
  const result = await box.run({ argv, env: ['PATH=/bin'], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS, ...more });
  await box.closed;
  return result;
}

/** The cgroup dirs of this process's sandboxes that still exist. */
function leftoverCgroups(): string[] {
  const parents = runtime.cgroups.parents;
  return parents.flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => n.startsWith(`w${process.pid}-`)) : []));
}

describe('a sandbox', () => {
  it('passes stdin through and keeps stdout and stderr apart, byte for byte', async () => {
    const input = Buffer.alloc(1 << 20, 'x');
    const r = await run(['sh', '-c', 'wc -c; printf "\\377\\000A" >&2'], { stdin: input });
    assert.equal(r.verdict, 'ok');
    assert.equal(r.stdout.toString().trim(), String(input.length));
    assert.deepEqual(r.stderr, Buffer.from([0xff, 0x00, 0x41]));
  });

  it('keeps all of the output of a job that exits without reading its stdin', async () => {
    // Far more stdin than the sockets and the pipe hold: the worker is still writing it when the supervisor goes.
    const input = Buffer.alloc(8 << 20, 'x');
    const r = await run(['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" o; echo done >&2'], { stdin: input });
    assert.equal(r.verdict, 'ok');
    assert.equal(r.stdout.length, 300_000);
    assert.equal(r.stderr.toString(), 'done\n');
  });

  it('streams output chunks as they come', async () => {
    const chunks: string[] = [];
    const r = await run(['sh', '-c', 'echo one; sleep 0.2; echo two'], { onStdout: (c) => chunks.push(c.toString()) });
    assert.equal(r.stdout.toString(), 'one\ntwo\n');
    assert.ok(chunks.length >= 2, `got ${chunks.length} chunk(s)`);
  });

  it('cuts stdout exactly at outputBytes and says which stream hit it; stderr is not counted in it', async () => {
    const r = await run(['sh', '-c', 'echo err >&2; yes'], { outputBytes: 10_000 });
    assert.equal(r.verdict, 'output_limit');
    assert.equal(r.stdout.length, 10_000);
    assert.equal(r.stderr.toString(), 'err\n');
    assert.equal(r.stdoutTruncated, true);
  });

  it('places files with their modes in the working directory', async () => {
    const r = await run(['sh', '-c', 'pwd; ls -l a/b.sh | cut -c1-10; ./a/b.sh'], {
      files: [{ path: 'a/b.sh', content: Buffer.from('#!/bin/sh\necho ran\n'), mode: 0o750 }],
    });
    assert.equal(r.stdout.toString(), '/\n-rwxr-x---\nran\n');
  });

  it('can be cancelled while it runs', async () => {
    const box = await runtime.create(busybox, { diskBytes: DEFAULT_LIMITS.diskBytes });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const r = await box.run({ argv: ['sleep', '10'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS, signal: abort.signal });
    assert.equal(r.verdict, 'cancelled');
    await box.closed;
  });

  it('keeps the result of a job that ended before a cancel reached its supervisor', async () => {
    const box = await runtime.create(busybox, { diskBytes: DEFAULT_LIMITS.diskBytes });
    const abort = new AbortController();
    const running = box.run({ argv: ['echo', 'done'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS, signal: abort.signal });
    // The event loop is held until the job has ended and its supervisor has reported and removed
    // its cgroups (its last step before it hangs up or exits); the cancel is then written after
    // all of that, before this side has read a byte of the report.
    const hold = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    for (let waited = 0; leftoverCgroups().length > 0 && waited < 30_000; waited += 10) hold(10);
    assert.deepEqual(leftoverCgroups(), [], 'the supervisor did not tear the sandbox down within 30 s');
    hold(100); // room for a supervisor that exits after its teardown (the behaviour this guards against)
    abort.abort();
    const r = await running;
    assert.equal(r.verdict, 'ok', r.error ?? '');
    assert.equal(r.stdout.toString(), 'done\n');
    await box.closed;
    assert.ok(box.cgroupsRemoved);
  });

  it('leaves no cgroup behind, run or destroyed unused', async () => {
    await run(['true']);
    const unused = await runtime.create(busybox, { diskBytes: DEFAULT_LIMITS.diskBytes });
    await unused.destroy();
    assert.deepEqual(leftoverCgroups(), []);
  });

  it("starts the job in the image's WorkingDir as the store resolved it, and creates what the image lacks", async () => {
    const image: StoredImage = { ...busybox, config: { ...busybox.config, workingDir: '/app/sub' }, workdir: { path: '/app/sub' } };
    const box = await runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes });
    const r = await box.run({ argv: ['pwd'], env: ['PATH=/bin'], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS });
    await box.closed;
    assert.equal(r.stdout.toString(), '/app/sub\n');
  });

  it('refuses, as the image\'s doing, a WorkingDir the store found no job can use', async () => {
    const image: StoredImage = { ...busybox, config: { ...busybox.config, workingDir: '/proc/self/cwd' }, workdir: { problem: 'it leads into /proc' } };
    await assert.rejects(runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes }), (err: unknown) => {
      assert.ok(err instanceof UnusableWorkdirError, String(err));
      assert.equal(err.message, `config.WorkingDir "/proc/self/cwd" cannot be a job's working directory: it leads into /proc`);
      return true;
    });
  });

  it('says so when the launcher cannot make the working directory', async () => {
    // Past the store's checks (an image the store resolved otherwise than the kernel does): a file on the way.
    const image: StoredImage = { ...busybox, workdir: { path: '/bin/busybox/sub' } };
    await assert.rejects(runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes }), (err: unknown) => {
      assert.ok(err instanceof UnusableWorkdirError, String(err));
      assert.match(err.message, /^the working directory "\/bin\/busybox\/sub" cannot be used: mkdir\(\/bin\/busybox\/sub\): Not a directory$/);
      return true;
    });
    assert.deepEqual(leftoverCgroups(), []);
  });

  it('runs one command only', async () => {
    const box = await runtime.create(busybox, { diskBytes: DEFAULT_LIMITS.diskBytes });
    await box.run({ argv: ['true'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS });
    await assert.rejects(box.run({ argv: ['true'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS }), /one command/);
    await box.closed;
  });
});

describe('warm pools', () => {
  it('serve a parked sandbox warm, refill in the background, and leave nothing when closed', async () => {
    const pools = new SandboxPools(runtime, { defaultBounds: { min: 0, max: 4 }, maxParkedTotal: 8, defaultDiskBytes: DEFAULT_LIMITS.diskBytes, tickMs: 20 });
    pools.configure(busybox, { min: 2, max: 4 });
    const stats = () => pools.stats().find((s) => s.digest === busybox.digest)!;
    while (stats().parked < 2) await new Promise((r) => setTimeout(r, 10));
    const { sandbox, start } = await pools.acquire(busybox, DEFAULT_LIMITS.diskBytes);
    assert.equal(start, 'warm');
    const r = await sandbox.run({ argv: ['echo', 'warm'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS });
    assert.equal(r.stdout.toString(), 'warm\n');
    await sandbox.closed;
    while (stats().parked < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stats().warmClaims, 1);
    await pools.close();
    assert.deepEqual(leftoverCgroups(), []);
  });

  it('start cold when the pool is off, and skip a parked sandbox that died', async () => {
    const pools = new SandboxPools(runtime, { defaultBounds: { min: 0, max: 0 }, maxParkedTotal: 8, defaultDiskBytes: DEFAULT_LIMITS.diskBytes });
    const cold = await pools.acquire(busybox, DEFAULT_LIMITS.diskBytes);
    assert.equal(cold.start, 'cold');
    await cold.sandbox.destroy();
    pools.configure(busybox, { min: 1, max: 1 });
    while (pools.stats()[0]!.parked < 1) await new Promise((r) => setTimeout(r, 10));
    // An operator kills the parked sandbox's launcher: the next claim must not hand it out.
    const victim = leftoverCgroups()[0]!;
    const pids = (await import('node:fs')).readFileSync(join(runtime.cgroups.parents[0]!, victim, 'cgroup.procs'), 'utf8').trim().split('\n');
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const next = await pools.acquire(busybox, DEFAULT_LIMITS.diskBytes);
    const r = await next.sandbox.run({ argv: ['true'], env: [], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS });
    assert.equal(r.verdict, 'ok');
    await pools.close();
  });
});
