/**
 * The set-up's entry point for the built-in images (infra/setup.sh runs it): the server's code
 * writes them into the store under WARMBOX_DATA; the `warmbox` command has no way to.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { helloWorldSourceDir, packageRoot } from '../../contract/paths.js';
import { BUSYBOX_IMAGE, HELLO_WORLD_IMAGE } from '../../images/builtin-images.js';
import { SnapshotStore } from '../../images/image-store.js';
import { CLI } from '../helpers/warmbox-server.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const SETUP_SCRIPT = join(packageRoot(), 'dist/server/setup-builtin-images.js');
const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;

describe('set-up of the built-in images', { skip: needsRoot }, () => {
  let data: string | undefined;

  before(async () => {
    await run('make', ['-s', '-C', helloWorldSourceDir()]);
    data = await makeTempDir('setup-builtin');
  });
  after(() => removeTempDir(data));

  it('stores busybox and hello-world under WARMBOX_DATA, and changes nothing the second time', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', WARMBOX_DATA: data! };
    const first = await run(process.execPath, [SETUP_SCRIPT], { env });
    const lines = first.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split('\t')[0]), [BUSYBOX_IMAGE, HELLO_WORLD_IMAGE]);
    for (const line of lines) assert.match(line, /\tsha256:[a-f0-9]{64}$/);
    const stored = await new SnapshotStore(join(data!, 'store')).list();
    assert.deepEqual(stored.map((i) => `${i.reference}\t${i.digest}`), lines);
    const second = await run(process.execPath, [SETUP_SCRIPT], { env });
    assert.equal(second.stdout, first.stdout);
  });

  it('is not something `warmbox images` does any more: the CLI never writes the store', async () => {
    const empty = await makeTempDir('cli-builtin');
    try {
      const r = await run(process.execPath, [CLI, 'images', 'builtin'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WARMBOX_DATA: empty } }).then(
        () => assert.fail('warmbox images builtin succeeded'),
        (err: { code: number; stderr: string }) => err,
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /unknown images command "builtin"/);
      assert.equal(existsSync(join(empty, 'store')), false);
    } finally {
      await removeTempDir(empty);
    }
  });
});
