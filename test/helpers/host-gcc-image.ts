/**
 * A C toolchain image made from this host's own gcc, for judge tests that compile C without a
 * Debian mirror (the `gcc` recipe image needs one): busybox, the gcc driver, cc1, collect2, as and
 * ld with the shared libraries they load, the static C library and the startup files, and only the
 * headers the given sources include (`gcc -M`). As an OCI layout archive for POST /v1/images/import.
 * Hosts without gcc cannot make it: `hostGccAvailable()` says so, and the tests skip.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HOST_BUSYBOX } from '../../images/builtin-images.js';
import { encodeTar, tarEntriesOfDir, type TarEntry } from '../../images/store/layer-tar.js';
import { MEDIA_TYPE, ociArchitecture } from '../../images/store/oci-image.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export function hostGccAvailable(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return existsSync('/usr/bin/ld.bfd') || existsSync('/usr/bin/ld');
  } catch {
    return false;
  }
}

const gccPrint = (flag: string): string => execFileSync('gcc', [flag], { encoding: 'utf8' }).trim();

/** The files a static C build with the host's gcc reads, besides headers. */
function toolchainFiles(): string[] {
  const progs = ['/usr/bin/gcc', gccPrint('-print-prog-name=cc1'), gccPrint('-print-prog-name=collect2'), '/usr/bin/as', '/usr/bin/ld', '/usr/bin/ld.bfd'];
  const startup = ['crt1.o', 'crti.o', 'crtn.o', 'crtbeginT.o', 'crtend.o', 'crtbegin.o', 'libgcc.a', 'libgcc_eh.a', 'libc.a', 'libm.a', 'libm-2.36.a', 'libmvec.a', 'liblto_plugin.so', 'libc_nonshared.a']
    .map((f) => gccPrint(`-print-file-name=${f}`))
    .filter((p) => p.startsWith('/') && existsSync(p));
  const libs = progs.filter(existsSync).flatMap((p) =>
    execFileSync('ldd', [p], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+)/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined),
  );
  return [...new Set([...progs.filter(existsSync), ...startup, ...libs])];
}

/** Headers the sources include, as the host's gcc finds them. */
function headersOf(sources: string[], dir: string): string[] {
  const found = new Set<string>();
  for (const [i, source] of sources.entries()) {
    const path = join(dir, `probe-${i}.c`);
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', path], { input: source });
    const deps = execFileSync('gcc', ['-M', '-O2', '-std=gnu17', path], { encoding: 'utf8' }).replace(/\\\n/g, ' ').split(/\s+/);
    for (const d of deps) if (d.startsWith('/usr/')) found.add(d);
  }
  return [...found];
}

/** Copies a host file to the same path under rootfs (its real path; the merged-/usr links are made once). */
async function place(rootfs: string, path: string): Promise<void> {
  const real = realpathSync(path);
  for (const p of new Set([real, path.replace(/^\/(lib|lib64|bin)\//, '/usr/$1/')])) {
    const to = join(rootfs, p);
    await mkdir(dirname(to), { recursive: true });
    if (!existsSync(to)) await copyFile(real, to);
  }
}

export async function hostGccArchive(reference: string, sources: string[]): Promise<Buffer> {
  const work = await makeTempDir('host-gcc');
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile(HOST_BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'echo', 'rm', 'ls', 'head', 'od', 'tr', 'base64']) await symlink('busybox', join(rootfs, 'bin', applet));
    for (const f of [...toolchainFiles(), ...headersOf(sources, work)]) await place(rootfs, f);
    await symlink('usr/lib', join(rootfs, 'lib')).catch(() => undefined);
    await symlink('usr/lib64', join(rootfs, 'lib64')).catch(() => undefined);
    await mkdir(join(rootfs, 'tmp'), { mode: 0o1777 });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await mkdir(join(rootfs, 'work'));
    const layer = encodeTar(await tarEntriesOfDir(rootfs, new Date('2020-01-01T00:00:00Z')));
    return ociArchive(reference, layer, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], WorkingDir: '/work' });
  } finally {
    await removeTempDir(work);
  }
}

/** An OCI layout archive (for POST /v1/images/import) of one layer tar and the image config's runtime part. */
export function ociArchive(reference: string, layer: Buffer, runtime: Record<string, unknown>): Buffer {
  const mtime = new Date('2020-01-01T00:00:00Z');
  const file = (path: string, data: string | Buffer): TarEntry => ({ path, type: 'File', mode: 0o644, mtime, data: Buffer.from(data) });
  const digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const descriptor = (mediaType: string, b: Buffer) => ({ mediaType, digest: digest(b), size: b.length });
  const config = Buffer.from(JSON.stringify({ architecture: ociArchitecture(), os: 'linux', config: runtime, rootfs: { type: 'layers', diff_ids: [digest(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociManifest, config: descriptor(MEDIA_TYPE.ociConfig, config), layers: [descriptor(MEDIA_TYPE.ociLayer, layer)] }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...descriptor(MEDIA_TYPE.ociManifest, manifest), annotations: { 'io.containerd.image.name': reference } }] }));
  const blob = (b: Buffer): TarEntry => file(`blobs/sha256/${digest(b).slice(7)}`, b);
  return encodeTar([
    file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    file('index.json', index),
    { path: 'blobs', type: 'Directory', mode: 0o755, mtime },
    { path: 'blobs/sha256', type: 'Directory', mode: 0o755, mtime },
    ...[config, manifest, layer].map(blob),
  ]);
}
