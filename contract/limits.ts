/**
 * Per-job resource limits: the one place that defines their units, defaults and server maxima.
 * The API validates requests against MAX_LIMITS (above → 422); the worker fills gaps from
 * DEFAULT_LIMITS; the launcher enforces what it is given. Below them, the bounds on images (layers,
 * unpacked size and entries).
 */
import { availableParallelism } from 'node:os';

export interface Limits {
  /** Wall-clock time of the job, measured by the launcher, in milliseconds. */
  wallTimeMs: number;
  /** CPU time (user+system) of the job's whole process tree, from its cgroup, in milliseconds. */
  cpuTimeMs: number;
  /** Memory of the job's cgroup (swap off), in bytes. Files the job writes to its tmpfs count too. */
  memoryBytes: number;
  /** Processes and threads alive at once (pids cgroup). */
  pids: number;
  /** The job's stdout, in bytes; the job is killed when it writes more (verdict output_limit). */
  outputBytes: number;
  /** The job's stderr, in bytes, a cap of its own beside stdout's; beyond it, output_limit too. */
  stderrBytes: number;
  /** Stack size of each of the job's processes (RLIMIT_STACK), in bytes. */
  stackBytes: number;
  /** Size of the sandbox's writable layer (tmpfs), in bytes. */
  diskBytes: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  openFiles: number;
  /** Largest file a process may write (RLIMIT_FSIZE), in bytes. */
  fileSizeBytes: number;
  /**
   * CPU cores' worth of time the job may use, all its processes together (the cgroup's CFS quota:
   * v2 cpu.max, v1 cpu.cfs_quota_us): 0.5 = half a core, 2 = two cores. The only limit that is not
   * an integer.
   */
  cpus: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  wallTimeMs: 10_000,
  cpuTimeMs: 5_000,
  memoryBytes: 256 * MiB,
  pids: 64,
  outputBytes: 1 * MiB,
  stderrBytes: 1 * MiB,
  // What a process gets from a login shell on most Linux systems (and what warmbox gave before it was a limit).
  stackBytes: 8 * MiB,
  diskBytes: 64 * MiB,
  openFiles: 256,
  fileSizeBytes: 64 * MiB,
  cpus: 1,
});

export const MAX_LIMITS: Readonly<Limits> = Object.freeze({
  wallTimeMs: 300_000,
  cpuTimeMs: 300_000,
  memoryBytes: 4096 * MiB,
  pids: 1024,
  outputBytes: 64 * MiB,
  stderrBytes: 64 * MiB,
  // The stack is memory like any other: the memory limit bounds what it may really take.
  stackBytes: 4096 * MiB,
  diskBytes: 4096 * MiB,
  openFiles: 4096,
  fileSizeBytes: 4096 * MiB,
  // A quota above the host's cores limits nothing: this host's (the API's) count bounds it.
  cpus: Math.min(64, availableParallelism()),
});

/** The smallest values that still let a process start; below them a request is rejected with 422. */
export const MIN_LIMITS: Readonly<Limits> = Object.freeze({
  wallTimeMs: 1,
  cpuTimeMs: 1,
  memoryBytes: 4 * MiB,
  pids: 1,
  outputBytes: 0,
  stderrBytes: 0,
  /** Below ~64 KiB the kernel cannot fit a program's arguments and environment beside its first frames. */
  stackBytes: 64 * 1024,
  diskBytes: 1 * MiB,
  openFiles: 8,
  fileSizeBytes: 0,
  /** The kernel's smallest CFS quota: 1 ms per 100 ms period. */
  cpus: 0.01,
});

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** Fills the limits a request left out with the defaults. */
export function withDefaults(partial: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...stripUndefined(partial ?? {}) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Layers of one image, at most: the launcher stacks up to this many (native/spec.h MAX_LOWER).
 * Docker's own limit is 125. An image of more is refused when it is pulled or imported (422).
 */
export const MAX_IMAGE_LAYERS = 128;

/** What one image may unpack to, all its layers together (store/unpack-budget.ts checks it while they stream). */
export interface UnpackBounds {
  /** Bytes of the image's layers uncompressed (their tar streams). */
  maxUnpackedBytes: number;
  /** Tar entries (files, directories, links, whiteouts, …) of its layers. */
  maxEntries: number;
}

/** Real images stay far below: a Debian with a JDK and build tools is ~2 GiB and ~100 000 entries. */
export const UNPACK_BOUNDS_DEFAULT: Readonly<UnpackBounds> = Object.freeze({
  maxUnpackedBytes: 16 * 1024 * MiB,
  maxEntries: 2_000_000,
});

/** The largest bounds the configuration accepts (WARMBOX_IMAGE_MAX_UNPACKED_BYTES, WARMBOX_IMAGE_MAX_ENTRIES). */
export const UNPACK_BOUNDS_MAXIMUM: Readonly<UnpackBounds> = Object.freeze({
  maxUnpackedBytes: 1024 * 1024 * MiB,
  maxEntries: 50_000_000,
});

/** The content-addressed blob store (test data uploaded once): POST/PUT /v1/blobs and its collection. */
export interface BlobBounds {
  /** Largest blob an upload may be, in bytes (WARMBOX_BLOB_MAX_BYTES; above → 413). */
  maxBytes: number;
  /**
   * How long a blob's bytes stay after the last tenant deleted its record and no unfinished job
   * references it, in milliseconds (WARMBOX_BLOB_GC_AGE_MS); measured from the file's last write.
   */
  gcAgeMs: number;
}

export const BLOB_BOUNDS_DEFAULT: Readonly<BlobBounds> = Object.freeze({
  maxBytes: 256 * MiB,
  gcAgeMs: 3_600_000,
});

/** The largest bounds the configuration accepts. */
export const BLOB_BOUNDS_MAXIMUM: Readonly<BlobBounds> = Object.freeze({
  maxBytes: 16 * 1024 * MiB,
  gcAgeMs: 30 * 24 * 3_600_000,
});
