/**
 * What a sandbox's supervisor says on its control connection: event lines (launcher-protocol.ts
 * parseEvent) and, between them, lines it logs for the operator.
 */
import { parseEvent, type LauncherEvent } from './launcher-protocol.js';

/** Lines the launcher logs for the operator share the control stream with its events. */
export const LOG_PREFIX = 'warmbox-launcher: ';

/**
 * The control connection's lines as the launcher's events, its log lines apart. Read as they come,
 * whether or not anyone waits for an event: `gone` comes after the last one a run waits for, and
 * readline's async iterator, which this replaces, looked at a line only when the next was awaited.
 */
export class EventLines {
  private partial = '';
  private readonly queued: (LauncherEvent | Error)[] = [];
  private waiter: ((ev: LauncherEvent | Error | undefined) => void) | undefined;
  private ended = false;
  /** The supervisor said `gone`. */
  gone = false;

  constructor(private readonly onLog: (line: string) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  /** The connection ended: a last line without its newline counts, then next() answers undefined. */
  end(): void {
    if (this.ended) return;
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.ended = true;
    this.deliver();
  }

  /** The next event, or undefined once the connection ended; a line that is no event rejects. */
  next(): Promise<LauncherEvent | undefined> {
    return new Promise((resolve, reject) => {
      this.waiter = (ev) => (ev instanceof Error ? reject(ev) : resolve(ev));
      this.deliver();
    });
  }

  private line(line: string): void {
    if (line.startsWith(LOG_PREFIX)) return this.onLog(line);
    let ev: LauncherEvent | Error;
    try {
      ev = parseEvent(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch (err) {
      ev = err as Error;
    }
    if (!(ev instanceof Error) && ev.type === 'gone') this.gone = true;
    else this.queued.push(ev);
    this.deliver();
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (waiter === undefined || (this.queued.length === 0 && !this.ended)) return;
    this.waiter = undefined;
    waiter(this.queued.shift());
  }
}
