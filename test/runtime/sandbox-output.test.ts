import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputFrames, type OutputChannel } from '../../runtime/sandbox-output.js';
import WIRE from '../../runtime/launcher-wire.json' with { type: 'json' };

/** A frame as the supervisor writes it (native/supervise.c write_frame). */
function frame(channel: number, payload: string | Buffer): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(WIRE.output.header_bytes);
  header[0] = channel;
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

function collect(): { frames: OutputFrames; got: [OutputChannel, string][] } {
  const got: [OutputChannel, string][] = [];
  return { frames: new OutputFrames((channel, payload) => got.push([channel, payload.toString()])), got };
}

describe('sandbox output frames', () => {
  it('hands on each payload by its channel, in order, several frames in one read', () => {
    const { frames, got } = collect();
    frames.push(Buffer.concat([frame(WIRE.output.stdout, 'out 1'), frame(WIRE.output.stderr, 'err'), frame(WIRE.output.stdout, 'out 2')]));
    assert.deepEqual(got, [
      ['stdout', 'out 1'],
      ['stderr', 'err'],
      ['stdout', 'out 2'],
    ]);
  });

  it('waits for the rest of a frame cut anywhere, its header included', () => {
    const bytes = Buffer.concat([frame(WIRE.output.stdout, 'hello'), frame(WIRE.output.stderr, 'world'), frame(WIRE.output.stdout, '')]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { frames, got } = collect();
      frames.push(bytes.subarray(0, cut));
      frames.push(bytes.subarray(cut));
      assert.deepEqual(got, [
        ['stdout', 'hello'],
        ['stderr', 'world'],
        ['stdout', ''],
      ], `cut at ${cut}`);
    }
  });

  it('keeps binary payloads exactly', () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 0]);
    const got: Buffer[] = [];
    new OutputFrames((_, payload) => got.push(payload)).push(frame(WIRE.output.stdout, bytes));
    assert.deepEqual(got, [bytes]);
  });

  it('refuses a frame of an unknown channel', () => {
    const { frames } = collect();
    assert.throws(() => frames.push(frame(9, 'x')), /unknown channel 9/);
  });
});
