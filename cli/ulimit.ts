/**
 * `--ulimit NAME=SOFT[:HARD]`, as `docker run` takes it, for the rlimits warmbox has as job limits:
 * stack (stackBytes), nofile (openFiles) and fsize (fileSizeBytes). Values are the rlimit's own
 * unit (bytes for stack and fsize), as docker passes them on; a size like `64m` is taken too. A
 * job has one value per limit: the soft one (a hard one, when given, must not be below it).
 */
import { parseSize, UsageError } from './units.js';

const ULIMITS = { stack: 'stackBytes', nofile: 'openFiles', fsize: 'fileSizeBytes' } as const;
type UlimitName = keyof typeof ULIMITS;

export type UlimitLimits = Partial<Record<(typeof ULIMITS)[UlimitName], number>>;

export function parseUlimits(values: string[]): UlimitLimits {
  const limits: UlimitLimits = {};
  for (const value of values) {
    const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(value.trim());
    if (!m || !(m[1]! in ULIMITS)) {
      throw new UsageError(`--ulimit: ${JSON.stringify(value)}: expected NAME=SOFT[:HARD] with NAME one of ${Object.keys(ULIMITS).join(', ')} (e.g. stack=67108864)`);
    }
    const soft = parseSize(m[2]!, `--ulimit ${m[1]}`);
    if (m[3] !== undefined && parseSize(m[3], `--ulimit ${m[1]}`) < soft) throw new UsageError(`--ulimit ${m[1]}: the soft limit ${m[2]} is above the hard limit ${m[3]}`);
    limits[ULIMITS[m[1] as UlimitName]] = soft;
  }
  return limits;
}
