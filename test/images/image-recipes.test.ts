/**
 * Language image recipes: the recipe files, finding the Debian mirror in apt's configuration, the
 * base's debootstrap command line — fast, always run. Building the real images takes minutes and the
 * network to the Debian mirror, so those tests run only with WARMBOX_TEST_RECIPES=1 (the sharing of
 * the base layer is always tested, with a tiny base: shared-base-layer.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  buildRecipeImage,
  debianSourceFromApt,
  parseDeb822Sources,
  parseRecipe,
  parseSourcesList,
  RECIPES,
  resolveDebianSource,
} from '../../images/image-recipes.js';
import { debianBaseReference, debootstrapArgs } from '../../images/debian-base.js';
import { SnapshotStore } from '../../images/image-store.js';
import { withMergedLayers } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

// Host names here are placeholders: the real mirror comes from the machine's apt configuration.
const DEB822 = `Types: deb
# a comment line
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('recipes', () => {
  it('has python, gcc and node, each with packages, a config and a check', () => {
    assert.deepEqual(Object.keys(RECIPES).sort(), ['gcc', 'node', 'python']);
    assert.ok(RECIPES.python.packages.includes('python3'));
    assert.ok(RECIPES.gcc.packages.includes('gcc') && RECIPES.gcc.packages.includes('libc6-dev'));
    assert.ok(RECIPES.node.packages.includes('nodejs'));
    for (const recipe of Object.values(RECIPES)) {
      assert.equal(recipe.config.WorkingDir, '/work', recipe.name);
      assert.ok(recipe.config.Env?.some((e) => e.startsWith('PATH=')), recipe.name);
      assert.ok(recipe.check.length > 0);
    }
  });

  it('refuses a recipe with an unknown field, a bad package name or a relative WorkingDir', () => {
    const good = { description: 'd', packages: ['python3'], config: { Cmd: ['python3'] }, check: ['true'] };
    assert.equal(parseRecipe('python', JSON.stringify(good), 'x').packages[0], 'python3');
    assert.throws(() => parseRecipe('python', JSON.stringify({ ...good, extra: 1 }), 'x.json'), /x\.json is invalid/);
    assert.throws(() => parseRecipe('python', JSON.stringify({ ...good, packages: ['rm -rf'] }), 'x'), /Debian package name/);
    assert.throws(() => parseRecipe('python', JSON.stringify({ ...good, config: { WorkingDir: 'work' } }), 'x'), /absolute path/);
    assert.throws(() => parseRecipe('python', '{', 'x'), /not JSON/);
  });

  it('builds the base\'s debootstrap command line: minbase and no package of any recipe, the keyring, suite, target, mirror', () => {
    const args = debootstrapArgs({ mirror: 'http://mirror.example/debian', suite: 'bookworm', keyring: '/k.gpg' }, '/s/rootfs', '/cache');
    assert.deepEqual(args, ['--variant=minbase', '--components=main', '--keyring=/k.gpg', '--cache-dir=/cache', 'bookworm', '/s/rootfs', 'http://mirror.example/debian']);
  });
});

describe('the Debian mirror from apt configuration', () => {
  let tmp: string | undefined;
  before(async () => {
    tmp = await makeTempDir('apt');
  });
  after(() => removeTempDir(tmp));

  it('reads deb822 .sources: the release suite, not -updates or -security, and Signed-By', () => {
    assert.deepEqual(parseDeb822Sources(DEB822), { mirror: 'http://mirror.example/debian', suite: 'bookworm', keyring: '/usr/share/keyrings/debian-archive-keyring.gpg' });
  });

  it('skips disabled and deb-src stanzas', () => {
    const text = `Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n\n${DEB822}`;
    assert.equal(parseDeb822Sources(text)?.mirror, 'http://mirror.example/debian');
  });

  it('reads one-line sources.list entries, with options', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb http://mirror.example/debian-security bookworm-security main',
      'deb-src http://mirror.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/etc/apt/k.gpg] http://mirror.example/debian/ bookworm main contrib',
    ].join('\n');
    assert.deepEqual(parseSourcesList(text), { mirror: 'http://mirror.example/debian', suite: 'bookworm', keyring: '/etc/apt/k.gpg' });
    assert.equal(parseSourcesList('deb http://x.example/debian bookworm-updates main'), undefined);
  });

  it('looks in sources.list.d first, then sources.list', async () => {
    const dir = join(tmp ?? '', 'sources.list.d');
    await mkdir(dir);
    const list = join(tmp ?? '', 'sources.list');
    await writeFile(list, 'deb http://list.example/debian trixie main\n');
    assert.deepEqual(await debianSourceFromApt(dir, list), { mirror: 'http://list.example/debian', suite: 'trixie' });
    await writeFile(join(dir, 'debian.sources'), DEB822);
    assert.equal((await debianSourceFromApt(dir, list))?.mirror, 'http://mirror.example/debian');
  });

  it('lets options and WARMBOX_DEBIAN_MIRROR / WARMBOX_DEBIAN_SUITE override apt', async () => {
    const env = { WARMBOX_DEBIAN_MIRROR: 'http://env.example/debian', WARMBOX_DEBIAN_SUITE: 'trixie' };
    assert.deepEqual(await resolveDebianSource({}, env), { mirror: 'http://env.example/debian', suite: 'trixie' });
    assert.deepEqual(await resolveDebianSource({ mirror: 'http://opt.example/debian', suite: 'bookworm' }, env), { mirror: 'http://opt.example/debian', suite: 'bookworm' });
  });
});

const buildSkip = process.env.WARMBOX_TEST_RECIPES !== '1' ? 'set WARMBOX_TEST_RECIPES=1 to build a language image (minutes, needs the Debian mirror)'
  : process.getuid?.() !== 0 ? 'needs root (debootstrap, chroot)' : false;

describe('building the language images', { skip: buildSkip, timeout: 30 * 60_000 }, () => {
  let tmp: string | undefined;
  let store: SnapshotStore;
  const lines: string[] = [];
  before(async () => {
    tmp = await makeTempDir('recipe');
    store = new SnapshotStore(join(tmp, 'store'));
    await store.init();
  });
  after(() => removeTempDir(tmp));

  it('python: the Debian base and python3 on it, tagged as python; it runs python3', async () => {
    const { image } = await buildRecipeImage(store, 'python', { onLog: (l) => lines.push(l) });
    assert.equal(image.reference, 'docker.io/library/python:latest');
    assert.deepEqual(await store.resolve('python'), image);
    assert.equal(image.layerDirs.length, 2, 'the base, then python');
    assert.deepEqual(image.config.cmd, ['python3']);
    assert.equal(image.config.workingDir, '/work');
    assert.ok(lines.some((l) => l.startsWith('warmbox: checking')));
    const out = await withMergedLayers(image.layerDirs, async (root) => {
      const { stdout } = await run('chroot', [root, '/usr/bin/python', '-c', 'print(6 * 7)'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      return stdout;
    });
    assert.equal(out, '42\n');
  });

  it('python: the stdlib modules python3 imports at start load from their .pyc, none is stale (the layer kept the mtimes the .pyc record)', async () => {
    const image = (await store.resolve('python'))!;
    const stderr = await withMergedLayers(image.layerDirs, async (root) => {
      const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' };
      return (await run('chroot', [root, 'python3', '-v', '-c', 'print(1)'], { env })).stderr;
    });
    assert.doesNotMatch(stderr, /bytecode is stale/);
    for (const module of ['encodings/__pycache__/__init__', 'encodings/__pycache__/aliases', 'encodings/__pycache__/utf_8']) {
      assert.match(stderr, new RegExp(`code object from '/usr/lib/python3[.0-9]*/${module}\\.cpython-[0-9]+\\.pyc'`), module);
    }
  });

  it('gcc and node: built on the very base python has (the same layer, not rebuilt)', async () => {
    const python = (await store.resolve('python'))!;
    const base = (await store.resolve(debianBaseReference((await resolveDebianSource()).suite)))!;
    assert.deepEqual(python.layerDirs[0], base.layerDirs[0]);
    for (const name of ['gcc', 'node'] as const) {
      lines.length = 0;
      const { image } = await buildRecipeImage(store, name, { onLog: (l) => lines.push(l) });
      assert.equal(image.layerDirs.length, 2, name);
      assert.deepEqual(image.layerDirs[0], base.layerDirs[0], `${name} shares the base layer`);
      assert.ok(lines.some((l) => /is in the store: reusing it/.test(l)), `${name} reused the base`);
      assert.ok(!lines.some((l) => l.startsWith('warmbox: debootstrap')), `${name} ran no debootstrap`);
    }
  });
});
