/**
 * The floor every benchmark reports beside its figures: fork + execve + waitpid of a program, no
 * sandbox, timed in C (bench/native/forkexec.c), so that runs on machines of different speed can be
 * compared by their ratios.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';

/** Compiles forkexec.c (once per process) and returns the binary's path. */
let built: string | undefined;
function forkExecBinary(): string {
  if (built !== undefined) return built;
  const dir = join(packageRoot(), 'bench/native/build');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'forkexec');
  execFileSync('cc', ['-O2', '-o', bin, join(packageRoot(), 'bench/native/forkexec.c')]);
  return (built = bin);
}

/** `n` durations in ms of fork + execve + waitpid of `argv` (its output goes to /dev/null). */
export function forkExecSamples(n: number, argv: readonly string[]): number[] {
  const out = execFileSync(forkExecBinary(), [String(n), ...argv], { encoding: 'utf8' });
  return out.trim().split('\n').map((us) => Number(us) / 1000);
}
