/**
 * Pull + unpack of a ~100 MB four-layer image from a registry on loopback: warmbox's ImagePuller into
 * a fresh store against `skopeo copy docker://… oci:DIR` + `umoci unpack` (the tools' own pull and
 * unpack), alternated, several repetitions, medians and their ratio in one run (FACTS.md: absolute
 * times drift between runs on these machines; ratios within a run hold).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/image-pull.js      (root; BENCH_REPS=5 by default)
 *
 * Prints a Markdown table and writes bench/results/image-pull.json. Uses the test helpers for the
 * registry (Debian's docker-registry) and for building the image with umoci.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImagePuller } from '../images/image-pull.js';
import { SnapshotStore } from '../images/image-store.js';
import { packageRoot } from '../contract/paths.js';
import { pushWithSkopeo, skopeoCopy, startRegistry, UmociLayout } from '../test/helpers/registry.js';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp.js';

const run = promisify(execFile);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const MB = 1024 * 1024;

interface Sample {
  warmboxMs: number;
  skopeoMs: number;
  umociMs: number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: unpacking keeps ownership and makes whiteouts');
  const tmp = await makeTempDir('bench-pull');
  const registry = await startRegistry();
  try {
    console.error('building the image…');
    const layout = await UmociLayout.create(join(tmp, 'oci'));
    await layout.newImage('big');
    const sizes = await buildImage(layout);
    const ref = `${registry.host}/bench/big:v1`;
    await pushWithSkopeo(layout.dir, 'big', ref);
    const manifest = JSON.parse((await layout.readBlob(await layout.manifestDigest('big'))).toString()) as { layers: Array<{ size: number }> };
    const compressed = manifest.layers.reduce((sum, l) => sum + l.size, 0);

    const samples: Sample[] = [];
    for (let i = 0; i < REPS; i++) {
      const order = i % 2 === 0 ? ['warmbox', 'tools'] : ['tools', 'warmbox'];
      const sample: Partial<Sample> = {};
      for (const which of order) {
        if (which === 'warmbox') sample.warmboxMs = await timeWarmbox(join(tmp, `store-${i}`), ref);
        else Object.assign(sample, await timeTools(join(tmp, `tools-${i}`), ref));
      }
      samples.push(sample as Sample);
      console.error(`rep ${i + 1}/${REPS}: warmbox ${sample.warmboxMs?.toFixed(0)} ms, skopeo+umoci ${((sample.skopeoMs ?? 0) + (sample.umociMs ?? 0)).toFixed(0)} ms`);
    }

    const warmbox = stats(samples.map((s) => s.warmboxMs));
    const skopeo = stats(samples.map((s) => s.skopeoMs));
    const umoci = stats(samples.map((s) => s.umociMs));
    const tools = stats(samples.map((s) => s.skopeoMs + s.umociMs));
    const ratio = tools.median / warmbox.median;

    const rows = [
      ['warmbox ImagePuller.pull (download, verify, unpack, tag)', warmbox],
      ['skopeo copy docker:// → oci:', skopeo],
      ['umoci unpack', umoci],
      ['skopeo copy + umoci unpack', tools],
    ] as const;
    console.log(`\n### Pull + unpack, ${(sizes.uncompressed / MB).toFixed(0)} MB image (${manifest.layers.length} gzip layers, ${(compressed / MB).toFixed(0)} MB compressed, ${sizes.files} files), loopback registry, ${REPS} reps\n`);
    console.log('| what | median ms | min ms | max ms |');
    console.log('|---|---:|---:|---:|');
    for (const [name, s] of rows) console.log(`| ${name} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)} |`);
    console.log(`\nskopeo+umoci / warmbox (medians): **${ratio.toFixed(2)}x**`);

    const results = {
      date: new Date().toISOString(),
      node: process.version,
      reps: REPS,
      image: { uncompressedBytes: sizes.uncompressed, compressedBytes: compressed, layers: manifest.layers.length, files: sizes.files },
      ms: { warmbox, skopeo, umoci, skopeoPlusUmoci: tools },
      ratioToolsOverWarmbox: ratio,
      samples,
    };
    const dir = join(packageRoot(), 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'image-pull.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${join(dir, 'image-pull.json')}`);
  } finally {
    await registry.stop();
    await removeTempDir(tmp);
  }
}

async function timeWarmbox(root: string, ref: string): Promise<number> {
  const store = new SnapshotStore(root);
  await store.init();
  const start = performance.now();
  await new ImagePuller(store).pull(ref);
  const ms = performance.now() - start;
  await rm(root, { recursive: true, force: true });
  return ms;
}

async function timeTools(dir: string, ref: string): Promise<{ skopeoMs: number; umociMs: number }> {
  await mkdir(dir);
  const start = performance.now();
  await skopeoCopy(`docker://${ref}`, `oci:${dir}/oci:big`);
  const copied = performance.now();
  await run('umoci', ['unpack', '--image', `${dir}/oci:big`, `${dir}/bundle`]);
  const unpacked = performance.now();
  await rm(dir, { recursive: true, force: true });
  return { skopeoMs: copied - start, umociMs: unpacked - copied };
}

/**
 * Four layers, ~100 MB uncompressed: many small text-like files (compressible, like a package tree),
 * a few large random ones (incompressible, like binaries), a mix, and a layer that deletes and
 * replaces some of the first's.
 */
async function buildImage(layout: UmociLayout): Promise<{ uncompressed: number; files: number }> {
  let uncompressed = 0;
  let files = 0;
  const textish = (n: number): Buffer => {
    const words = ['sandbox', 'layer', 'image', 'registry', 'digest', 'overlay', 'warm', 'pool', '\n'];
    const parts: string[] = [];
    let size = 0;
    while (size < n) {
      const w = words[(size * 7919) % words.length] ?? 'x';
      parts.push(w, ' ');
      size += w.length + 1;
    }
    return Buffer.from(parts.join('').slice(0, n));
  };
  const write = async (path: string, data: Buffer): Promise<void> => {
    await writeFile(path, data);
    uncompressed += data.length;
    files++;
  };
  await layout.change('big', async (rootfs) => {
    for (let d = 0; d < 40; d++) {
      const dir = join(rootfs, 'usr', 'share', `pkg${d}`);
      await mkdir(dir, { recursive: true });
      for (let f = 0; f < 50; f++) await write(join(dir, `file${f}.txt`), Buffer.concat([textish(12_000), randomBytes(500)]));
    }
  });
  await layout.change('big', async (rootfs) => {
    await mkdir(join(rootfs, 'usr', 'lib', 'big'), { recursive: true });
    for (let f = 0; f < 30; f++) await write(join(rootfs, 'usr', 'lib', 'big', `blob${f}.so`), randomBytes(MB));
  });
  await layout.change('big', async (rootfs) => {
    await mkdir(join(rootfs, 'opt', 'mix'), { recursive: true });
    for (let f = 0; f < 250; f++) await write(join(rootfs, 'opt', 'mix', `m${f}`), Buffer.concat([randomBytes(60_000), textish(60_000)]));
  });
  await layout.change('big', async (rootfs) => {
    for (let d = 0; d < 10; d++) await rm(join(rootfs, 'usr', 'share', `pkg${d}`), { recursive: true });
    await mkdir(join(rootfs, 'srv'), { recursive: true });
    for (let f = 0; f < 15; f++) await write(join(rootfs, 'srv', `data${f}`), randomBytes(MB));
  });
  return { uncompressed, files };
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

await main();
