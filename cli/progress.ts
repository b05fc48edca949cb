/**
 * A pull's progress on the terminal, the way `docker pull` shows it: one line per layer, redrawn in
 * place (status, a bar, bytes and speed) when the output is a terminal; on anything else (a pipe, a
 * log file) one plain line each time a layer changes state, and no byte counts in between.
 */

export interface LayerProgress {
  layer: string;
  status: string;
  doneBytes: number;
  totalBytes: number;
}

interface LayerLine {
  id: string;
  status: string;
  doneBytes: number;
  totalBytes: number;
  /** When its download started and how many bytes it had then, for the speed. */
  since?: { at: number; bytes: number };
  speed?: number;
  existed: boolean;
}

const LABELS: Record<string, string> = {
  waiting: 'Waiting',
  downloading: 'Downloading',
  verifying: 'Verifying Checksum',
  extracting: 'Extracting',
  exists: 'Already exists',
  done: 'Pull complete',
};

const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 40;

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class PullProgressView {
  readonly #out: ProgressOutput;
  readonly #tty: boolean;
  readonly #layers = new Map<string, LayerLine>();
  /** Lines of the layer block now on screen below the cursor's start (TTY only). */
  #drawn = 0;
  #lastDraw = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #now: () => number;

  constructor(out: ProgressOutput, opts: { tty?: boolean; now?: () => number } = {}) {
    this.#out = out;
    this.#tty = opts.tty ?? out.isTTY === true;
    this.#now = opts.now ?? Date.now;
  }

  /** A line of its own (e.g. "Digest: …"); the layer block above it stays as it was last drawn. */
  status(message: string): void {
    this.#flush();
    this.#drawn = 0;
    this.#out.write(`${message}\n`);
  }

  progress(p: LayerProgress): void {
    let line = this.#layers.get(p.layer);
    const changed = line?.status !== p.status;
    if (!line) {
      line = { id: shortId(p.layer), status: p.status, doneBytes: p.doneBytes, totalBytes: p.totalBytes, existed: p.status === 'exists' };
      this.#layers.set(p.layer, line);
    }
    const now = this.#now();
    if (p.status === 'downloading') {
      line.since ??= { at: now, bytes: p.doneBytes };
      const seconds = (now - line.since.at) / 1000;
      if (seconds > 0.2) line.speed = (p.doneBytes - line.since.bytes) / seconds;
    }
    if (p.status === 'exists') line.existed = true;
    line.status = p.status;
    line.doneBytes = p.doneBytes;
    line.totalBytes = p.totalBytes;
    if (this.#tty) this.#scheduleDraw(changed);
    else if (changed) this.#out.write(`${plainLine(line)}\n`);
  }

  /** Every layer already existed: nothing was downloaded. */
  get upToDate(): boolean {
    return [...this.#layers.values()].every((l) => l.existed);
  }

  /** Draws the final state (TTY) and stops redrawing. */
  finish(): void {
    this.#flush();
  }

  #scheduleDraw(now: boolean): void {
    const due = this.#lastDraw + REDRAW_INTERVAL_MS - this.#now();
    if (now || due <= 0) {
      this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => this.#flush(), due);
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#tty || this.#layers.size === 0) return;
    this.#lastDraw = this.#now();
    const columns = this.#out.columns || 80;
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    for (const line of this.#layers.values()) text += `\x1b[2K${ttyLine(line, columns - 1).slice(0, columns - 1)}\n`;
    this.#drawn = this.#layers.size;
    this.#out.write(text);
  }
}

/** A layer's line within width columns: the bar narrows (down to none) before anything else goes. */
function ttyLine(l: LayerLine, width: number): string {
  const label = LABELS[l.status] ?? l.status;
  if (l.status !== 'downloading' || l.totalBytes <= 0) return `${l.id}: ${label}`;
  const speed = l.speed !== undefined ? `  ${formatBytes(l.speed)}/s` : '';
  const counts = `${formatBytes(l.doneBytes)}/${formatBytes(l.totalBytes)}${speed}`;
  const barWidth = Math.min(BAR_WIDTH, width - `${l.id}: ${label} []  ${counts}`.length);
  if (barWidth < 10) return `${l.id}: ${label} ${counts}`;
  const filled = Math.min(barWidth, Math.floor((l.doneBytes / l.totalBytes) * barWidth));
  const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(barWidth - filled)}]`;
  return `${l.id}: ${label} ${bar}  ${counts}`;
}

function plainLine(l: LayerLine): string {
  const label = LABELS[l.status] ?? l.status;
  return l.status === 'downloading' ? `${l.id}: ${label} (${formatBytes(l.totalBytes)})` : `${l.id}: ${label}`;
}

/** The 12 hex digits docker shows for a layer. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Decimal units, three significant digits, as docker prints sizes: 512B, 1.23kB, 45.6MB, 1.2GB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}${units[unit]}`;
}

/** "3 seconds ago", "2 weeks ago", as docker's CREATED column. */
export function timeAgo(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const steps: Array<[number, string]> = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [4.345, 'week'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size) {
      const n = Math.floor(value);
      if (name === 'second' && n < 1) return 'Less than a second ago';
      return `${n === 1 ? (name === 'hour' ? 'An' : 'A') : n} ${name}${n === 1 ? '' : 's'} ago`;
    }
    value /= size;
  }
  return 'long ago';
}
