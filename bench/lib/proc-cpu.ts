/**
 * A process's CPU time as the kernel counts it (/proc/PID/stat: utime + stime, in clock ticks),
 * read from outside, so the measured process needs no metric of its own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** User + system CPU time of the process so far, ms (its own threads; children not included). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicks();
}

/**
 * The whole machine's CPU time so far, ms summed over all CPUs (/proc/stat's first line): `busy`
 * everything but idle and iowait, `total` everything. What every process and the kernel's own
 * threads spent, the sandboxes' namespaces and teardown included.
 */
export function machineCpuMs(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!; // idle + iowait
  const ms = (t: number) => (t * 1000) / clockTicks();
  return { busy: ms(total - idle), total: ms(total) };
}
