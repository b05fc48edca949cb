/**
 * The built-in images: made from the host's static busybox and the repository's hello program,
 * stored as real OCI images, runnable (checked with chroot), and left alone when present.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  BUSYBOX_IMAGE,
  ensureBuiltinImages,
  HELLO_WORLD_IMAGE,
  HOST_BUSYBOX,
  isStaticElf64,
} from '../../images/builtin-images.js';
import { SnapshotStore } from '../../images/image-store.js';
import { helloWorldBinary, helloWorldSourceDir, packageRoot } from '../../contract/paths.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const CHROOT = '/usr/sbin/chroot'; // absolute: the commands below run with a minimal PATH
const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files, chroot)' : false;

/** Every path under dir with what would change if it were rewritten: inode, mtime, size, mode. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    const abs = join(dir, rel);
    const st = await lstat(abs);
    out.set(rel, `${st.ino} ${st.mtimeMs} ${st.ctimeMs} ${st.size} ${st.mode}`);
    if (st.isDirectory()) for (const name of await readdir(abs)) await walk(join(rel, name));
  }
  await walk('');
  return out;
}

describe('built-in images', { skip: needsRoot }, () => {
  let tmp: string | undefined;
  let store: SnapshotStore;

  before(async () => {
    await run('make', ['-s', '-C', helloWorldSourceDir()]); // builds build/hello if it is missing
    tmp = await makeTempDir('builtin');
    store = new SnapshotStore(join(tmp, 'store'));
    await store.init();
  });
  after(() => removeTempDir(tmp));

  it('creates busybox and hello-world', async () => {
    const images = await ensureBuiltinImages(store);
    assert.deepEqual(images.map((i) => i.reference), [BUSYBOX_IMAGE, HELLO_WORLD_IMAGE]);
    assert.deepEqual((await store.list()).map((i) => i.reference), [BUSYBOX_IMAGE, HELLO_WORLD_IMAGE]);
  });

  it("resolves 'busybox' to its config and one layer with busybox and its applets", async () => {
    const image = await store.resolve('busybox');
    assert.ok(image);
    assert.deepEqual(image.config, {
      entrypoint: [],
      cmd: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      workingDir: '',
      user: '',
    });
    assert.match(image.digest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(image.layerDirs.length, 1);
    const layer = image.layerDirs[0] ?? '';

    assert.equal((await stat(join(layer, 'bin', 'busybox'))).mode & 0o7777, 0o755);
    assert.deepEqual(await readFile(join(layer, 'bin', 'busybox')), await readFile(HOST_BUSYBOX));
    assert.equal(await readlink(join(layer, 'bin', 'sh')), 'busybox');
    const { stdout } = await run(HOST_BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a !== '' && a !== 'busybox')) {
      assert.equal(await readlink(join(layer, 'bin', applet)), 'busybox', applet);
    }
    assert.match(await readFile(join(layer, 'etc', 'passwd'), 'utf8'), /^root:x:0:0:.*\nnobody:x:65534:65534:/);
    assert.match(await readFile(join(layer, 'etc', 'group'), 'utf8'), /^root:x:0:\nnobody:x:65534:\n$/);
    for (const [name, mode] of [['proc', 0o755], ['dev', 0o755], ['tmp', 0o1777], ['root', 0o700], ['home', 0o755], ['work', 0o1777]] as const) {
      const st = await stat(join(layer, name));
      assert.ok(st.isDirectory(), name);
      assert.equal(st.mode & 0o7777, mode, name);
      assert.deepEqual(await readdir(join(layer, name)), [], `${name} is empty`);
    }
    assert.equal((await stat(layer)).mode & 0o7777, 0o755);
  });

  it('runs a shell command in the busybox layer (chroot)', async () => {
    const layer = (await store.resolve('busybox'))?.layerDirs[0] ?? '';
    const { stdout } = await run(CHROOT, [layer, '/bin/sh', '-c', 'echo hi; ls /bin/ls'], { env: { PATH: '/bin' } });
    assert.equal(stdout, 'hi\n/bin/ls\n');
  });

  it("runs /hello in the hello-world layer, which explains what warmbox did", async () => {
    const image = await store.resolve('hello-world');
    assert.ok(image);
    assert.deepEqual(image.config.cmd, ['/hello']);
    const layer = image.layerDirs[0] ?? '';
    assert.deepEqual((await readdir(layer)).sort(), ['dev', 'hello', 'proc', 'tmp']);
    const { stdout } = await run(CHROOT, [layer, '/hello'], { env: {} });
    assert.match(stdout, /^\nHello from warmbox!\n/);
    assert.match(stdout, /snapshot store/);
    assert.match(stdout, /warmbox run busybox -- sh -c 'echo hi'/);
    assert.match(stdout, /README/);
  });

  it('is idempotent: a second call changes no file in the store', async () => {
    const before = await snapshot(store.root);
    const started = process.hrtime.bigint();
    const again = await ensureBuiltinImages(store);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(await snapshot(store.root), before);
    assert.deepEqual(again, [await store.resolve('busybox'), await store.resolve('hello-world')]);
    assert.ok(ms < 500, `second call took ${ms} ms`);
  });

  it('builds the same digests from the same inputs (a reproducible layer tar)', async () => {
    const other = new SnapshotStore(join(tmp ?? '', 'other-store'));
    await other.init();
    const [busybox, hello] = await ensureBuiltinImages(other);
    assert.equal(busybox?.digest, (await store.resolve('busybox'))?.digest);
    assert.equal(hello?.digest, (await store.resolve('hello-world'))?.digest);
  });

  it('refuses a busybox that is not static, naming the fix', async () => {
    const other = new SnapshotStore(join(tmp ?? '', 'dynamic-store'));
    await other.init();
    await assert.rejects(ensureBuiltinImages(other, { busybox: '/bin/ls' }), /not a statically linked.*busybox-static/);
    assert.deepEqual(await readdir(join(tmp ?? '', 'dynamic-store', 'tmp')), []);
  });
});

describe('isStaticElf64', () => {
  it('tells static executables from dynamic ones and from non-ELF files', async () => {
    assert.equal(isStaticElf64(await readFile(HOST_BUSYBOX)), true);
    assert.equal(isStaticElf64(await readFile('/bin/ls')), false);
    assert.equal(isStaticElf64(Buffer.from('#!/bin/sh\necho not elf\n'.padEnd(100))), false);
  });
});

describe('paths', () => {
  it('finds the package root and the hello binary from dist/', async () => {
    const root = packageRoot();
    assert.equal(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).name, 'warmbox');
    await run('make', ['-s', '-C', helloWorldSourceDir()]);
    assert.equal(helloWorldBinary(), join(root, 'infra', 'images', 'hello-world', 'build', 'hello'));
  });
});
