/**
 * The special files of an unpacked layer that Node's fs cannot make: overlayfs whiteouts (character
 * device 0:0), opaque-directory markers (xattr trusted.overlay.opaque=y) and FIFOs. They are made with
 * the system's own tools — mknod (coreutils) and setfattr / getfattr (Debian's `attr`, installed by
 * `npm run setup`) — on paths the unpacker has already checked lie inside the layer. Making a device
 * node and reading or writing a trusted.* xattr need root (CAP_MKNOD, CAP_SYS_ADMIN).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** overlayfs' whiteout: a 0:0 character device hides the same name in the layers below. */
export async function makeWhiteout(path: string): Promise<void> {
  await tool('mknod', ['--', path, 'c', '0', '0']);
}

export async function makeFifo(path: string): Promise<void> {
  await tool('mknod', ['--', path, 'p']);
}

/** overlayfs' opaque directory: hides everything below it in the lower layers. */
export async function markOpaque(dir: string): Promise<void> {
  await tool('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', '--', dir]);
}

/** Whether a layer's directory is opaque (markOpaque). */
export async function isOpaque(dir: string): Promise<boolean> {
  try {
    const { stdout } = await run('getfattr', ['-h', '--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', '--', dir]);
    return stdout === 'y';
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message: string };
    if (e.code === 1 && /No such attribute/.test(e.stderr ?? '')) return false;
    const hint = e.code === 'ENOENT' ? ' (getfattr is not installed: run `npm run setup`)' : '';
    throw new Error(`getfattr of ${dir} failed${hint}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

async function tool(command: string, args: string[]): Promise<void> {
  try {
    await run(command, args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const hint = e.code === 'ENOENT' ? ` (${command} is not installed: run \`npm run setup\`)` : '';
    throw new Error(`${command} ${args.join(' ')} failed${hint}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}
