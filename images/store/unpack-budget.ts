/**
 * What one image may unpack to, checked while it unpacks: the bytes of its uncompressed layer tars
 * and the number of their entries, all layers of the image together. A small compressed layer that
 * inflates past the bound (a gzip or zstd bomb) is stopped at the byte that crosses it, not after
 * it has filled the disk; so is a layer of millions of empty files.
 *
 * One UnpackBudget per image being stored (a pull, one image of an archive, a build): each layer it
 * unpacks is charged as its bytes stream through the decompressor and its entries are parsed; a
 * layer the store already holds is charged its recorded size at once. The bounds' defaults and
 * maxima are with the other limits (limits.ts); server/image-config.ts reads them from the environment.
 */
import { Transform } from 'node:stream';
import { ImageStoreError } from '../image-store-error.js';
import type { UnpackBounds } from '../../contract/limits.js';

export { UNPACK_BOUNDS_DEFAULT, UNPACK_BOUNDS_MAXIMUM, type UnpackBounds } from '../../contract/limits.js';

/** What a layer unpacked to: its uncompressed tar's bytes and entries. */
export interface LayerStats {
  tarBytes: number;
  entries: number;
}

export class UnpackBudget {
  #bytes = 0;
  #entries = 0;

  /** what: how messages name what is bounded ('the image', 'the archive'). */
  constructor(readonly bounds: Readonly<UnpackBounds>, private readonly what = 'the image') {}

  /** Uncompressed bytes just read; throws 'unpacked_size_limit' once they pass the bound. */
  addBytes(n: number): void {
    this.#bytes += n;
    if (this.#bytes > this.bounds.maxUnpackedBytes) {
      throw new ImageStoreError(
        'unpacked_size_limit',
        `${this.what} unpacks to more than ${this.bounds.maxUnpackedBytes} bytes, the server's bound on an image's unpacked size`,
      );
    }
  }

  /** One more tar entry; throws 'entry_count_limit' once they pass the bound. */
  addEntry(): void {
    this.#entries++;
    this.#checkEntries();
  }

  /** A layer that was unpacked before, or by another pull: its recorded size, all at once. */
  charge(stats: LayerStats): void {
    this.addBytes(stats.tarBytes);
    this.#entries += stats.entries;
    this.#checkEntries();
  }

  #checkEntries(): void {
    if (this.#entries > this.bounds.maxEntries) {
      throw new ImageStoreError('entry_count_limit', `${this.what} has more than ${this.bounds.maxEntries} entries, the server's bound on an image's entries`);
    }
  }
}

/** True for the errors an UnpackBudget throws. */
export function isUnpackBoundError(err: unknown): boolean {
  return err instanceof ImageStoreError && (err.code === 'unpacked_size_limit' || err.code === 'entry_count_limit');
}

/**
 * A pass-through that charges every uncompressed byte to the budget before anything downstream
 * parses it: a bomb stops at the byte that crosses the bound.
 */
export function chargedTo(budget: UnpackBudget): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        budget.addBytes(chunk.length);
        callback(null, chunk);
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}
