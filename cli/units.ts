/** Parses the sizes and durations people type: `256m`, `1g`, `512k`; `10s`, `500ms`, `2m`. */
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: invalid size ${JSON.stringify(text)} (e.g. 256m, 1g, 512k, 1048576)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

/** A plain number is seconds, like `timeout(1)`. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: invalid duration ${JSON.stringify(text)} (e.g. 10s, 500ms, 2m, 5)`);
  return Math.round(Number(m[1]) * TIME_UNITS[m[2] ?? 's']!);
}
