/**
 * A judge's build runs hostile input (a compiler, a build script the client wrote), and what it
 * leaves in its writable layer is kept as a layer of the store (worker/build-layer.ts). Here a
 * hostile build plants what has let jobs out of other judges' boxes: a symlink to a host file
 * (Judge0 CVE-2024-28185/28189, go-judge #176), a device node, a FIFO, a setuid file (Piston
 * #206), a hard link to a file of the image, and a file as large as the disk allows. The layer is
 * captured and stored, and a test sandbox of image + layer is run: nothing of the host is read or
 * written, nothing but regular files, directories and symlinks enters the layer, and its size is
 * the build's disk limit at most.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { BuildLayerStore } from '../../worker/build-layer.js';
import { envOf } from '../../worker/job-command.js';
import { ATTACK_TIMEOUT_MS, securitySuite } from '../helpers/sandbox-fixture.js';

const suite = securitySuite('build-layer');
const DISK_BYTES = 8 << 20;
let db: DatabaseHandle | undefined;
after(async () => db?.close());

const HOSTILE_BUILD = [
  'set -u',
  'mkdir -p /work/out && cd /work/out',
  'ln -s /etc/shadow shadow-link',
  'ln -s ../../../../../../etc/hostname relative-link',
  'mknod dev-null c 1 3 2>/dev/null; echo mknod=$?',
  'mkfifo fifo; echo mkfifo=$?',
  'echo "#!/bin/sh" > setuid; chmod 4755 setuid; echo chmod=$?',
  'ln /bin/busybox hard-busybox 2>/dev/null; echo link=$?',
  'echo built > artifact',
  'dd if=/dev/zero of=huge bs=1M count=64 2>/dev/null; echo dd=$?',
  'exit 0',
].join('\n');

/** Every entry of a tree, lstat only: type and mode, owner, size. */
function entries(dir: string, rel = ''): Map<string, { kind: string; mode: number; uid: number; size: number }> {
  const found = new Map<string, { kind: string; mode: number; uid: number; size: number }>();
  for (const name of readdirSync(join(dir, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, path));
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    found.set(path, { kind, mode: st.mode & 0o7777, uid: st.uid, size: st.size });
    if (kind === 'dir') for (const [p, e] of entries(dir, path)) found.set(p, e);
  }
  return found;
}

describe('a hostile build captured as a layer', { timeout: ATTACK_TIMEOUT_MS * 3 }, () => {
  it('stores only files, directories and symlinks of the job, within the build disk limit, and a test sandbox of it cannot reach the host', async () => {
    const fx = await suite.fixture();
    db = await openDatabase(join(fx.dataDir, 'warmbox.db'));
    const builder = await fx.createSandbox(fx.busybox, DISK_BYTES);
    const build = await builder.run({
      ...DEFAULT_LIMITS,
      argv: ['sh', '-c', HOSTILE_BUILD],
      env: envOf({ env: {} }, fx.busybox.config),
      files: [],
      stdin: Buffer.alloc(0),
      capture: true,
    });
    assert.equal(build.verdict, 'ok', build.stderr.toString());
    const out = build.stdout.toString();
    assert.match(out, /mknod=[1-9]/, 'the job cannot make a device node (no CAP_MKNOD)');
    assert.match(out, /dd=[1-9]/, 'the huge file hit the build disk limit');
    const layer = build.writableLayer;
    assert.ok(layer, 'a capture run keeps its writable layer');
    assert.match(layer.upperDir, /^\/proc\/\d+\/fd\/\d+$/);

    const built = await new BuildLayerStore(fx.store, db.db).admit(fx.busybox, layer.upperDir, '01JUDGEBUILDSECURITYTEST00');
    await layer.release();
    await builder.closed;

    const image = await fx.store.resolve(built.image);
    assert.ok(image);
    assert.deepEqual(image.layerDirs.slice(0, -1), fx.busybox.layerDirs, 'stacked on the image\'s own layers, shared');
    const layerDir = image.layerDirs.at(-1)!;
    assert.equal(built.layer, `sha256:${layerDir.split('/').at(-1)}`);
    const tree = entries(layerDir);
    for (const [path, e] of tree) assert.notEqual(e.kind, 'other', `${path}: only files, directories and symlinks enter the layer`);
    assert.equal(tree.get('work/out/fifo'), undefined, 'the FIFO is left out');
    assert.equal(tree.get('work/out/shadow-link')?.kind, 'symlink');
    const setuid = tree.get('work/out/setuid');
    assert.ok(setuid && setuid.uid !== 0, 'a setuid file is the job\'s, never root\'s');
    let bytes = 0;
    for (const e of tree.values()) if (e.kind === 'file') bytes += e.size;
    assert.ok(bytes <= DISK_BYTES, `the layer holds ${bytes} bytes, more than the build's disk (${DISK_BYTES})`);
    assert.ok(statSync(join(layerDir, 'work/out/artifact')).isFile());
    assert.equal(readFileSync(join(layerDir, 'work/out/artifact'), 'utf8'), 'built\n');

    const test = await fx.runJob(['sh', '-c', [
      'cat /work/out/shadow-link 2>&1; echo shadow=$?',
      'cat /work/out/relative-link 2>&1; echo hostname=$?',
      'cat /work/out/artifact',
      'grep -c " / overlay .*nosuid" /proc/self/mounts',
    ].join('\n')], { image });
    const seen = test.stdout.toString();
    assert.match(seen, /shadow=[1-9]/, 'the symlink resolves inside the sandbox, where there is no /etc/shadow');
    assert.doesNotMatch(seen, new RegExp(readFileSync('/etc/hostname', 'utf8').trim() || 'never-matches-\\0'), 'the host\'s hostname file is not read');
    assert.match(seen, /^built$/m, 'the build output is there');
    assert.match(seen, /^1$/m, 'the root overlay is nosuid: a setuid file gains nothing');
  });
});
