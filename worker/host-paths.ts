/**
 * What an image operation says goes back to a client (an API error's message, a build's log line):
 * never a path of this host. The store's and the runtime's own messages name digests and layers, not
 * paths, but a failure of the host (ENOSPC, EIO, a tool that failed) names the file it failed on.
 * Every path under the roots given (the data directory, the store, the installation) becomes
 * `<server path>`; the worker's log keeps the original.
 */

const PLACEHOLDER = '<server path>';

export class HostPathFilter {
  readonly #patterns: RegExp[];

  /** roots: absolute directories of this host; a path under one is a path of this host. */
  constructor(roots: string[]) {
    const distinct = [...new Set(roots.map((r) => r.replace(/\/+$/, '')).filter((r) => r.length > 1))];
    // Longest first: a root inside another is replaced whole, not from the outer one's end.
    this.#patterns = distinct.sort((a, b) => b.length - a.length).map((root) => new RegExp(`${escapeRegExp(root)}(?:/[^\\s'"\`,;)]*)?`, 'g'));
  }

  /** The text with every path under a root replaced. */
  filter(text: string): string {
    let out = text;
    for (const pattern of this.#patterns) out = out.replace(pattern, PLACEHOLDER);
    return out;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
