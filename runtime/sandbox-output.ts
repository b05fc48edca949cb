/**
 * The job's stdout and stderr as they come out of a sandbox's io connection (native/supervise.h
 * FD_IO): frames of launcher-wire.json `output` — a channel byte, the payload's length (u32
 * big-endian), the payload — read as they arrive and handed on by channel. One connection for
 * both (and the job's stdin the other way) instead of one each: fewer for the worker to accept,
 * wrap in a Socket and tear down per sandbox.
 */
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import WIRE from './launcher-wire.json' with { type: 'json' };

export type OutputChannel = 'stdout' | 'stderr';

const HEADER_BYTES = WIRE.output.header_bytes;
const CHANNELS: ReadonlyMap<number, OutputChannel> = new Map([
  [WIRE.output.stdout, 'stdout'],
  [WIRE.output.stderr, 'stderr'],
]);

/** Splits a byte stream into frames; a frame cut across reads waits for its rest. */
export class OutputFrames {
  private rest: Buffer | undefined;

  constructor(private readonly onPayload: (channel: OutputChannel, payload: Buffer) => void) {}

  /** Throws on a frame of an unknown channel (the connection is then unusable). */
  push(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= HEADER_BYTES) {
      const length = buf.readUInt32BE(at + 1);
      if (buf.length - at - HEADER_BYTES < length) break;
      const channel = CHANNELS.get(buf[at]!);
      if (channel === undefined) throw new Error(`the launcher sent an output frame of unknown channel ${buf[at]}`);
      const start = at + HEADER_BYTES;
      at = start + length;
      this.onPayload(channel, buf.subarray(start, at));
    }
    this.rest = at < buf.length ? buf.subarray(at) : undefined;
  }
}

/**
 * Reads the io connection's output to its end, each payload to onPayload; with `stdout`, the job's
 * stdout is pushed there too, and a full `stdout` pauses the connection (an interactive pair's
 * relay: backpressure, as from a connection of its own). Resolves at the connection's end or close.
 * An error ends it as well: a supervisor that exits with stdin bytes the job never read resets the
 * connection (ECONNRESET), after the kernel has delivered every byte it sent before.
 */
export function readOutput(io: Socket, onPayload: (channel: OutputChannel, payload: Buffer) => void, stdout?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let over = false;
    const frames = new OutputFrames((channel, payload) => {
      onPayload(channel, payload);
      if (channel === 'stdout' && stdout && !stdout.push(payload)) io.pause();
    });
    const done = (): void => {
      if (over) return;
      over = true;
      stdout?.push(null);
      resolve();
    };
    io.on('data', (chunk: Buffer) => {
      if (over) return;
      try {
        frames.push(chunk);
      } catch (err) {
        over = true;
        io.destroy();
        stdout?.destroy(err as Error);
        reject(err as Error);
      }
    });
    io.once('end', done);
    io.once('close', done);
    io.resume(); // the zygote paused it after reading the connection's hello line
  });
}

/** A job's stdout as a stream of its own, read from its io connection by readOutput. */
export function stdoutStream(io: Socket): Readable {
  return new Readable({ read: () => void io.resume() });
}
