/**
 * Image content no tool would make, for the bad-input tests: layers that inflate far past their
 * size (a gzip bomb, millions of entries in miniature), layers that are broken (corrupt or truncated
 * gzip, a truncated tar, a zstd stream that is not one), and `docker save` archives to carry them.
 * Layers are built as tar bytes (layer-tar.ts's encoder does not sanitize); a layer's diff_id is
 * computed from what it really unpacks to, unless a test wants it to lie.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { encodeTar, type TarEntry } from '../../images/store/layer-tar.js';
import { ociArchitecture } from '../../images/store/oci-image.js';

export interface TestLayer {
  /** The layer blob as stored and served (compressed or not). */
  blob: Buffer;
  /** sha256 of the uncompressed tar: what the image config lists. */
  diffId: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A gzip layer of the given entries. */
export function gzipLayer(entries: TarEntry[]): TestLayer {
  const tar = encodeTar(entries);
  return { blob: gzipSync(tar), diffId: sha256(tar) };
}

/** Busybox with sh and a few applets, and /etc and /tmp: an image a job can run in. */
export function busyboxEntries(): TarEntry[] {
  return [
    { path: 'bin', type: 'Directory', mode: 0o755 },
    { path: 'bin/busybox', type: 'File', mode: 0o755, data: readFileSync('/bin/busybox') },
    ...['sh', 'pwd', 'cat', 'echo', 'ls'].map((applet): TarEntry => ({ path: `bin/${applet}`, type: 'SymbolicLink', mode: 0o777, linkpath: 'busybox' })),
    { path: 'etc', type: 'Directory', mode: 0o755 },
    { path: 'etc/passwd', type: 'File', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { path: 'tmp', type: 'Directory', mode: 0o1777 },
  ];
}

/**
 * A gzip layer of one file of `bytes` zeros: a few kB that inflate to `bytes` (gzip's ratio is
 * ~1000:1). Streamed, so that the test never holds the inflated layer.
 */
export async function gzipBomb(bytes: number): Promise<TestLayer> {
  const header = new Header({ path: 'zeros', type: 'File', mode: 0o644, size: bytes, mtime: new Date(0), uid: 0, gid: 0 });
  header.encode();
  const hash = createHash('sha256');
  async function* tar(): AsyncGenerator<Buffer> {
    const parts = [header.block as Buffer];
    const chunk = Buffer.alloc(1 << 20);
    for (let left = bytes; left > 0; left -= chunk.length) parts.push(left >= chunk.length ? chunk : chunk.subarray(0, left));
    parts.push(Buffer.alloc((512 - (bytes % 512)) % 512), Buffer.alloc(1024));
    for (const part of parts) {
      hash.update(part);
      yield part;
    }
  }
  const out: Buffer[] = [];
  for await (const piece of Readable.from(tar()).pipe(createGzip({ level: 9 }))) out.push(piece as Buffer);
  return { blob: Buffer.concat(out), diffId: `sha256:${hash.digest('hex')}` };
}

/** A gzip layer of `count` empty files: a few kB, `count` entries. */
export function entryBomb(count: number): TestLayer {
  return gzipLayer(Array.from({ length: count }, (_, i): TarEntry => ({ path: `f${i}`, type: 'File', mode: 0o644 })));
}

/** Broken layers, each with the diff_id its intact version would have. */
export function brokenLayers(): Record<string, TestLayer> {
  const entries: TarEntry[] = Array.from({ length: 20 }, (_, i): TarEntry => ({ path: `file${i}`, type: 'File', mode: 0o644, data: Buffer.alloc(4000, i) }));
  const tar = encodeTar(entries);
  const gz = gzipSync(tar);
  const diffId = sha256(tar);
  const corrupt = Buffer.from(gz);
  for (let i = 20; i < 60; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0x5a;
  const truncatedTar = tar.subarray(0, 512 + 1000);
  // Fine as a tar, refused by the file system (ENAMETOOLONG, whose message names the host path).
  const longName = encodeTar([{ path: 'n'.repeat(300), type: 'File', mode: 0o644, data: Buffer.from('x') }]);
  return {
    'an entry whose name the file system refuses': { blob: gzipSync(longName), diffId: sha256(longName) },
    'a corrupt gzip stream': { blob: corrupt, diffId },
    'a truncated gzip stream': { blob: gz.subarray(0, gz.length - 40), diffId },
    'a truncated tar': { blob: gzipSync(truncatedTar), diffId: sha256(truncatedTar) },
    'a zstd stream that is none': { blob: Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 0x77)]), diffId },
    'a layer whose content is not its diff_id': { blob: gz, diffId: sha256('another layer') },
  };
}

/** An OCI image config of these layers. */
export function imageConfig(layers: TestLayer[], config: Record<string, unknown> = { Cmd: ['sh'] }): Buffer {
  return Buffer.from(JSON.stringify({ architecture: ociArchitecture(), os: 'linux', config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
}

/** A `docker save` archive of one image, named by repoTag. */
export function dockerSaveArchive(repoTag: string, layers: TestLayer[], config?: Record<string, unknown>): Buffer {
  const configBlob = imageConfig(layers, config);
  const configName = `${sha256(configBlob).slice(7)}.json`;
  const entries: TarEntry[] = [{ path: configName, type: 'File', mode: 0o644, data: configBlob }];
  const layerNames = layers.map((layer, i) => {
    entries.push({ path: `layer${i}`, type: 'Directory', mode: 0o755 }, { path: `layer${i}/layer.tar`, type: 'File', mode: 0o644, data: layer.blob });
    return `layer${i}/layer.tar`;
  });
  const manifest = [{ Config: configName, RepoTags: [repoTag], Layers: layerNames }];
  entries.push({ path: 'manifest.json', type: 'File', mode: 0o644, data: Buffer.from(JSON.stringify(manifest)) });
  return encodeTar(entries);
}
