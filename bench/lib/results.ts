/** Where every benchmark leaves its results: `bench/results/` of this checkout (README "Benchmarks"). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';

export const RESULTS_DIR = join(packageRoot(), 'bench', 'results');

/**
 * Writes a benchmark's result files into RESULTS_DIR (made if missing), each name to its content:
 * text as it is, anything else as JSON (two-space indent, a final newline).
 */
export function writeResults(files: Record<string, string | object>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(RESULTS_DIR, name), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}
