/** Removing a build's staging directory safely, whatever a killed build left mounted in it. */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';

/**
 * Removes a build's staging directory — after unmounting whatever is still mounted under it (a
 * debootstrap that was killed can leave the tree's /proc and /sys mounted), and never while something
 * still is: a recursive removal would descend into the host's /proc or /sys.
 */
export async function removeBuildStaging(staging: string): Promise<void> {
  for (const mount of (await mountsUnder(staging)).reverse()) {
    await new Promise<void>((resolve) => {
      spawn('umount', ['-l', mount], { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve());
    });
  }
  const left = await mountsUnder(staging);
  if (left.length > 0) throw new Error(`cannot remove ${staging}: still mounted there: ${left.join(', ')} (unmount them, then remove it)`);
  await rm(staging, { recursive: true, force: true });
}

/** Mount points at or below dir, outermost first, from /proc/self/mountinfo (field 5; octal escapes). */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => a.length - b.length);
}
