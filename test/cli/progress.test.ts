import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageTable } from '../../cli/commands/images.js';
import { formatBytes, PullProgressView, timeAgo } from '../../cli/progress.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function capture(tty: boolean): { out: { write(t: string): void; isTTY: boolean; columns: number }; text: () => string } {
  let text = '';
  return { out: { write: (t: string) => void (text += t), isTTY: tty, columns: 120 }, text: () => text };
}

describe('pull progress', () => {
  it('on a terminal: one line per layer, redrawn in place, with a bar, bytes and speed', () => {
    let now = 0;
    const { out, text } = capture(true);
    const view = new PullProgressView(out, { now: () => now });
    view.progress({ layer: A, status: 'waiting', doneBytes: 0, totalBytes: 2_000_000 });
    view.progress({ layer: B, status: 'exists', doneBytes: 5, totalBytes: 5 });
    view.progress({ layer: A, status: 'downloading', doneBytes: 0, totalBytes: 2_000_000 });
    now = 1000;
    view.progress({ layer: A, status: 'downloading', doneBytes: 1_000_000, totalBytes: 2_000_000 });
    view.finish();
    const screen = text();
    const up = '\u001b[2A';
    assert.ok(screen.includes(up), 'moves up over the two layer lines to redraw them');
    const last = screen.split(up).at(-1)!;
    assert.match(last, /aaaaaaaaaaaa: Downloading \[=+>\s+\] {2}1\.00MB\/2\.00MB {2}1\.00MB\/s/);
    assert.match(last, /bbbbbbbbbbbb: Already exists/);
    assert.equal(view.upToDate, false);
  });

  it('elsewhere: a plain line each time a layer changes state, no bytes in between', () => {
    const { out, text } = capture(false);
    const view = new PullProgressView(out);
    view.status('Pulling x');
    view.progress({ layer: A, status: 'waiting', doneBytes: 0, totalBytes: 1500 });
    view.progress({ layer: A, status: 'downloading', doneBytes: 0, totalBytes: 1500 });
    view.progress({ layer: A, status: 'downloading', doneBytes: 700, totalBytes: 1500 });
    view.progress({ layer: A, status: 'done', doneBytes: 1500, totalBytes: 1500 });
    view.finish();
    assert.equal(text(), 'Pulling x\naaaaaaaaaaaa: Waiting\naaaaaaaaaaaa: Downloading (1.50kB)\naaaaaaaaaaaa: Pull complete\n');
  });

  it('formats sizes and ages as docker does', () => {
    assert.equal(formatBytes(512), '512B');
    assert.equal(formatBytes(1_234_567), '1.23MB');
    assert.equal(formatBytes(45_600_000), '45.6MB');
    const now = Date.parse('2025-01-15T00:00:00Z');
    assert.equal(timeAgo('2025-01-14T23:59:30Z', now), '30 seconds ago');
    assert.equal(timeAgo('2025-01-14T23:00:00Z', now), 'An hour ago');
    assert.equal(timeAgo('2025-01-01T00:00:00Z', now), '2 weeks ago');
  });

  it('lists images in the docker images table, Docker Hub names short, SIZE unpacked', () => {
    const now = Date.parse('2025-01-15T00:00:00Z');
    const table = imageTable([
      { reference: 'docker.io/library/busybox:latest', repository: 'docker.io/library/busybox', tag: 'latest', digest: A, unpackedBytes: 2_130_000, compressedBytes: 1_000_000, createdAt: '2025-01-14T00:00:00Z' },
      { reference: '127.0.0.1:5000/team/tool:1', repository: '127.0.0.1:5000/team/tool', tag: '1', digest: B, unpackedBytes: 900, compressedBytes: null, createdAt: '2025-01-14T23:59:00Z' },
    ], { now });
    assert.equal(table, [
      'REPOSITORY                 TAG      DIGEST         SIZE     CREATED',
      'busybox                    latest   aaaaaaaaaaaa   2.13MB   A day ago',
      '127.0.0.1:5000/team/tool   1        bbbbbbbbbbbb   900B     A minute ago',
    ].join('\n'));
  });
});
