/**
 * Images for the image tests, from the host's static busybox: runnable in a sandbox. layeredLayout
 * is built with umoci, with layers that exercise the store (a file whited out by an upper layer);
 * manyLayerArchive, in memory, has as many layers as asked for.
 *
 *   layer 1: /bin/busybox (+ sh, cat, ls links), /data/keep, /data/gone
 *   layer 2: /data/gone deleted (a whiteout), /data/upper added
 *   config:  Cmd [sh], Env GREETING=hello, WorkingDir /data
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST_BUSYBOX } from '../../images/builtin-images.js';
import { encodeTar, type TarEntry } from '../../images/store/layer-tar.js';
import { MEDIA_TYPE, ociArchitecture } from '../../images/store/oci-image.js';
import { UmociLayout } from './registry.js';

export async function layeredLayout(dir: string, tag = 'v1'): Promise<UmociLayout> {
  const layout = await UmociLayout.create(dir);
  await layout.newImage(tag);
  await layout.change(tag, async (rootfs) => {
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'ls', 'echo']) await symlink('busybox', join(rootfs, 'bin', applet));
    await mkdir(join(rootfs, 'data'));
    await writeFile(join(rootfs, 'data', 'keep'), 'kept from layer 1\n');
    await writeFile(join(rootfs, 'data', 'gone'), 'whited out by layer 2\n');
  });
  await layout.change(tag, async (rootfs) => {
    await rm(join(rootfs, 'data', 'gone'));
    await writeFile(join(rootfs, 'data', 'upper'), 'from layer 2\n');
  });
  await layout.config(tag, ['--config.cmd', 'sh', '--config.env', 'PATH=/bin', '--config.env', 'GREETING=hello', '--config.workingdir', '/data']);
  return layout;
}

/** The command that shows what a job sees of the layered image. */
export const SHOW_DATA = ['/bin/sh', '-c', 'ls /data; cat /data/upper; echo "$GREETING"'];

/**
 * An image of `count` layers as an OCI layout tar (what `warmbox import` takes), named `reference`:
 *
 *   layer 0:         /bin/busybox (+ sh, cat links), /layers/bottom "bottom layer", /layers/which "0"
 *   layer i:         /layers/<i> "<i>", /layers/which "<i>" (each layer replaces the one below's)
 *   layer count-1:   also /layers/top "top layer"
 *
 * Small uncompressed layers, made in memory: a job reads bottom, top and which to prove the order.
 */
export async function manyLayerArchive(count: number, reference: string): Promise<Buffer> {
  const mtime = new Date('2020-01-01T00:00:00Z');
  const file = (path: string, data: string | Buffer, mode = 0o644): TarEntry => ({ path, type: 'File', mode, mtime, data: Buffer.from(data) });
  const dir = (path: string): TarEntry => ({ path, type: 'Directory', mode: 0o755, mtime });
  const layers: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const entries: TarEntry[] = [dir('layers'), file(`layers/${i}`, `${i}\n`), file('layers/which', `${i}\n`)];
    if (i === 0) {
      entries.push(dir('bin'), file('bin/busybox', await readFile(HOST_BUSYBOX), 0o755), file('layers/bottom', 'bottom layer\n'));
      for (const applet of ['sh', 'cat']) entries.push({ path: `bin/${applet}`, type: 'SymbolicLink', mode: 0o777, mtime, linkpath: 'busybox' });
    }
    if (i === count - 1) entries.push(file('layers/top', 'top layer\n'));
    layers.push(encodeTar(entries.sort((a, b) => a.path.localeCompare(b.path))));
  }
  const digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({
    architecture: ociArchitecture(),
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map(digest) },
  }));
  const descriptor = (mediaType: string, b: Buffer): { mediaType: string; digest: string; size: number } => ({ mediaType, digest: digest(b), size: b.length });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: descriptor(MEDIA_TYPE.ociConfig, config),
    layers: layers.map((l) => descriptor(MEDIA_TYPE.ociLayer, l)),
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...descriptor(MEDIA_TYPE.ociManifest, manifest), annotations: { 'io.containerd.image.name': reference } }],
  }));
  const blob = (b: Buffer): TarEntry => file(`blobs/sha256/${digest(b).slice(7)}`, b);
  return encodeTar([
    file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    file('index.json', index),
    dir('blobs'),
    dir('blobs/sha256'),
    ...[config, manifest, ...layers].map(blob),
  ]);
}
