/**
 * The blob → layer index (diffids/sha256/<blob hex>): what our own unpack of a layer blob found, so
 * that the blob is never read again. One line: 'sha256:<diff_id> <tar bytes> <entries>'. The sizes
 * are the layer's, whatever blob it came from (a diff_id is the hash of the very tar they measure),
 * and they are what an image's unpacked size and its unpack bounds count (unpack-budget.ts).
 *
 * Index files written before the sizes were recorded hold only the diff_id: their sizes are then
 * estimated once from the unpacked directory (estimateLayerStats) and the file is rewritten.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256Digest } from './digest.js';
import type { LayerStats } from './unpack-budget.js';

export interface LayerIndexEntry {
  diffId: string;
  /** Absent in index files of older versions. */
  stats?: LayerStats;
}

const BLOCK = 512;

export function formatLayerIndex(diffId: string, stats: LayerStats): string {
  return `${diffId} ${stats.tarBytes} ${stats.entries}\n`;
}

/** undefined for a file that is not an index entry (damaged, or of an unknown format). */
export function parseLayerIndex(text: string): LayerIndexEntry | undefined {
  const [diffId, bytes, entries, ...rest] = text.trim().split(/\s+/);
  if (diffId === undefined || !isSha256Digest(diffId) || rest.length > 0) return undefined;
  if (bytes === undefined || entries === undefined) return { diffId };
  const stats = { tarBytes: Number(bytes), entries: Number(entries) };
  if (!Number.isSafeInteger(stats.tarBytes) || !Number.isSafeInteger(stats.entries) || stats.tarBytes < 0 || stats.entries < 0) return { diffId };
  return { diffId, stats };
}

/**
 * What the tar of an unpacked layer directory was, near enough: a header block per entry, each file's
 * content in whole blocks, and the two blocks that end an archive. Never follows a symlink.
 */
export async function estimateLayerStats(dir: string): Promise<LayerStats> {
  const stats: LayerStats = { tarBytes: 2 * BLOCK, entries: 0 };
  const visit = async (path: string): Promise<void> => {
    for (const name of await readdir(path)) {
      const child = join(path, name);
      const st = await lstat(child);
      stats.entries++;
      stats.tarBytes += BLOCK + (st.isFile() ? Math.ceil(st.size / BLOCK) * BLOCK : 0);
      if (st.isDirectory()) await visit(child);
    }
  };
  await visit(dir);
  return stats;
}
