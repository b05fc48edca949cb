/**
 * An image's WorkingDir is resolved through its own layers, as overlayfs stacks them and with its
 * symlinks followed inside the image's root, never on the host; an import refuses one no job could
 * start in, naming the field, and stores nothing.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importImageArchive } from '../../images/image-import.js';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import type { TarEntry } from '../../images/store/layer-tar.js';
import { busyboxEntries, dockerSaveArchive, gzipLayer, type TestLayer } from '../helpers/hostile-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (unpacking layers keeps ownership, makes whiteouts)' : false;

const dir = (path: string): TarEntry => ({ path, type: 'Directory', mode: 0o755 });
const link = (path: string, linkpath: string): TarEntry => ({ path, type: 'SymbolicLink', mode: 0o777, linkpath });
const file = (path: string): TarEntry => ({ path, type: 'File', mode: 0o644, data: Buffer.from('x') });

describe("an image's WorkingDir", { skip }, () => {
  let tmp: string;
  let seq = 0;

  before(async () => {
    tmp = await makeTempDir('working-dir');
  });
  after(() => removeTempDir(tmp));

  async function importImage(workingDir: string, layers: TestLayer[]) {
    const store = new SnapshotStore(join(tmp, `store-${seq++}`));
    await store.init();
    const archive = join(tmp, `archive-${seq++}.tar`);
    await writeFile(archive, dockerSaveArchive('wd:1', layers, { Cmd: ['sh'], WorkingDir: workingDir }));
    return { store, imported: importImageArchive(store, archive) };
  }

  const base = gzipLayer([
    ...busyboxEntries(),
    dir('srv'),
    dir('srv/app'),
    dir('proc'),
    link('app', '/srv/app'),
    link('relapp', 'srv/./app'),
    link('toproc', '/proc/self'),
    link('toprocrel', 'srv/../proc/1'),
    link('out', '../../etc'),
    link('loop1', 'loop2'),
    link('loop2', 'loop1'),
  ]);

  for (const [workingDir, layers, why] of [
    ['/proc/self/fd/3', [base], /leads into \/proc/],
    ['/sys/fs', [base], /leads into \/sys/],
    ['/dev/shm', [base], /leads into \/dev/],
    ['relative/dir', [base], /not an absolute path/],
    ['/srv/../../etc', [base], /'\.\.' component/],
    [`/${'n'.repeat(256)}`, [base], /longer than 255 bytes/],
    ['/toproc', [base], /leads into \/proc/],
    ['/toprocrel/cwd', [base], /leads into \/proc/],
    ['/out/x', [base], /'\.\.' leads out of the image's root/],
    ['/loop1', [base], /symbolic links/],
    ['/etc/passwd', [base], /\/etc\/passwd is a regular file in the image/],
    ['/etc/passwd/sub', [base], /\/etc\/passwd is a regular file in the image/],
    ['/bin/sh', [base], /\/bin\/busybox is a regular file/],
    ['/srv/app', [base, gzipLayer([dir('srv'), file('srv/app')])], /\/srv\/app is a regular file/],
  ] as const) {
    it(`${JSON.stringify(workingDir)} is refused (${why.source})`, async () => {
      const { store, imported } = await importImage(workingDir, [...layers]);
      await assert.rejects(imported, (err: unknown) => {
        assert.ok(err instanceof ImageStoreError, String(err));
        assert.equal(err.code, 'invalid_config');
        assert.equal(err.field, 'config.WorkingDir');
        assert.match(err.message, /^config\.WorkingDir ".*" cannot be a job's working directory: /);
        assert.match(err.message, why);
        return true;
      });
      assert.deepEqual(await store.list(), [], 'nothing was tagged');
      assert.deepEqual(await readdir(join(store.root, 'tmp')), []);
    });
  }

  for (const [workingDir, layers, resolved] of [
    ['', [base], '/'],
    ['/srv/app/', [base], '/srv/app'],
    ['/app', [base], '/srv/app'],
    ['/app/new/deeper', [base], '/srv/app/new/deeper'],
    ['/relapp', [base], '/srv/app'],
    ['/not/in/the/image', [base], '/not/in/the/image'],
    // A whiteout in an upper layer hides the file below: the launcher creates the directory.
    ['/etc/passwd', [base, gzipLayer([dir('etc'), { path: 'etc/.wh.passwd', type: 'File', mode: 0o644 }])], '/etc/passwd'],
    // An opaque directory hides the lower layer's symlink into /proc.
    ['/srv/link/x', [gzipLayer([...busyboxEntries(), dir('srv'), link('srv/link', '/proc/self')]), gzipLayer([dir('srv'), { path: 'srv/.wh..wh..opq', type: 'File', mode: 0o644 }])], '/srv/link/x'],
    // A directory in an upper layer merges with the one below, whose symlink then counts.
    ['/srv/app', [base, gzipLayer([dir('srv'), file('srv/other')])], '/srv/app'],
  ] as const) {
    it(`${JSON.stringify(workingDir)} is taken, as ${resolved}`, async () => {
      const { imported } = await importImage(workingDir, [...layers]);
      const [image] = await imported;
      assert.deepEqual(image?.workdir, { path: resolved });
    });
  }
});
