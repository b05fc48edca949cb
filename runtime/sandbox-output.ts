/**
 * The job's stdout and stderr as they come out of a sandbox's output connection (native/supervise.h
 * FD_OUTPUT): frames of launcher-wire.json `output` — a channel byte, the payload's length (u32
 * big-endian), the payload — read as they arrive and handed on by channel. One connection for
 * both instead of one each: one fewer for the worker to accept, wrap in a Socket and tear down per
 * sandbox. The worker never writes to it, so no failed write (EPIPE) can end it before its last byte.
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
 * Reads the output connection to its end, each payload to onPayload; with `stdout`, the job's
 * stdout is pushed there too, and a full `stdout` pauses the connection (an interactive pair's
 * relay: backpressure, as from a connection of its own). Resolves at the connection's end or close.
 */
export function readOutput(output: Socket, onPayload: (channel: OutputChannel, payload: Buffer) => void, stdout?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let over = false;
    const frames = new OutputFrames((channel, payload) => {
      onPayload(channel, payload);
      if (channel === 'stdout' && stdout && !stdout.push(payload)) output.pause();
    });
    const done = (): void => {
      if (over) return;
      over = true;
      stdout?.push(null);
      resolve();
    };
    output.on('data', (chunk: Buffer) => {
      if (over) return;
      try {
        frames.push(chunk);
      } catch (err) {
        over = true;
        output.destroy();
        stdout?.destroy(err as Error);
        reject(err as Error);
      }
    });
    output.once('end', done);
    output.once('close', done);
    output.resume(); // the zygote paused it after reading the connection's hello line
  });
}

/** A job's stdout as a stream of its own, read from its output connection by readOutput. */
export function stdoutStream(output: Socket): Readable {
  return new Readable({ read: () => void output.resume() });
}
