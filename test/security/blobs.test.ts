/**
 * A blob given to a job (its stdin, or a file) is read by the launcher on the host, from the blob
 * store: the job gets the bytes, never the host file. It cannot write through to the stored blob,
 * reopen it, or learn where on the host it lives — not through its stdin's fd, /proc, the mount
 * table or the placed file — and a blob path that is a symlink is not followed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BlobStore } from '../../blobs/blob-store.js';
import { ATTACK_TIMEOUT_MS, describeRun, securitySuite, type SandboxFixture } from '../helpers/sandbox-fixture.js';
import { Readable } from 'node:stream';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function storedBlob(fx: SandboxFixture, bytes: Buffer): Promise<{ store: BlobStore; path: string; digest: string }> {
  const store = new BlobStore(join(fx.dataDir, 'blobs'));
  const { digest } = await store.put(Readable.from([bytes]), { maxBytes: bytes.length });
  return { store, path: store.pathOf(digest), digest };
}

describe('blobs given to a job', () => {
  const suite = securitySuite('blobs');

  it('as stdin: the job reads the bytes through a pipe; its fd leads to no host file, and writing through it leaves the blob as it was', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const bytes = randomBytes(256 * 1024);
    const { path } = await storedBlob(fx, bytes);
    const script = [
      'sha256sum | cut -d" " -f1',
      'echo "link=$(readlink /proc/self/fd/0)"',
      // Writing through the fd reaches only the job's own pipe, never the stored file.
      'echo x > /proc/self/fd/0',
      'cat /proc/self/mountinfo /proc/self/mounts',
    ].join('; ');
    const r = await fx.runJob(['sh', '-c', script], { stdinFile: path });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const out = r.stdout.toString();
    assert.equal(out.split('\n')[0], sha256(bytes), 'the bytes arrive intact');
    assert.match(out, /^link=pipe:\[\d+\]$/m, 'stdin is a pipe, not the host file');
    assert.ok(!out.includes(fx.dataDir) && !r.stderr.toString().includes(fx.dataDir), 'no host path is shown to the job');
    assert.equal(sha256(readFileSync(path)), sha256(bytes), 'the stored blob is unchanged');
  });

  it('as a file: the job gets its own copy; changing or replacing it leaves the stored blob as it was', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const bytes = randomBytes(128 * 1024);
    const { path } = await storedBlob(fx, bytes);
    const before = statSync(path);
    const script = [
      'sha256sum data.bin | cut -d" " -f1',
      'stat -c "%a %u" data.bin',
      'grep -c " / " /proc/self/mountinfo',
      'cat /proc/self/mountinfo',
      // Every way to change the file: in place, truncated, replaced, a link through it.
      'echo overwritten > data.bin; : > data.bin; rm -f data.bin; ln -s /etc/passwd data.bin; echo done',
    ].join('; ');
    const r = await fx.runJob(['sh', '-c', script], { hostFiles: [{ path: 'data.bin', hostPath: path, mode: 0o600 }], diskBytes: 4 * 1024 * 1024 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const lines = r.stdout.toString().split('\n');
    assert.equal(lines[0], sha256(bytes), 'the bytes arrive intact');
    assert.match(lines[1]!, /^600 \d+$/, 'with the mode asked for, owned by the job');
    assert.notEqual(lines[1]!.split(' ')[1], '0', 'not owned by root');
    assert.ok(!r.stdout.toString().includes(fx.dataDir), 'the mount table names no host path: the blob is not bind-mounted');
    assert.match(r.stdout.toString(), /done\n$/);
    const after = statSync(path);
    assert.equal(sha256(readFileSync(path)), sha256(bytes), 'the stored blob is unchanged');
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(after.mode & 0o777, 0o444, 'the stored blob stays read-only');
  });

  it('a blob path that is a symlink is not followed: the job is refused, the target is not read', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const dir = join(fx.dataDir, 'planted');
    await mkdir(dir, { recursive: true });
    const secret = join(dir, 'secret');
    await writeFile(secret, 'host secret\n');
    await chmod(secret, 0o600);
    const link = join(dir, 'link');
    await symlink(secret, link);
    const box = await fx.createSandbox();
    await assert.rejects(fx.runIn(box, ['cat'], { stdinFile: link }), /stdin file cannot be opened/);
    const box2 = await fx.createSandbox();
    await assert.rejects(fx.runIn(box2, ['cat', 'f'], { hostFiles: [{ path: 'f', hostPath: link, mode: 0o644 }] }), /run message could not be sent/);
  });
});
