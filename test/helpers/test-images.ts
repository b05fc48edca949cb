/**
 * Images for the image tests, built with umoci from the host's static busybox: runnable in a
 * sandbox, and with layers that exercise the store (a file whited out by an upper layer).
 *
 *   layer 1: /bin/busybox (+ sh, cat, ls links), /data/keep, /data/gone
 *   layer 2: /data/gone deleted (a whiteout), /data/upper added
 *   config:  Cmd [sh], Env GREETING=hello, WorkingDir /data
 */
import { chmod, copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UmociLayout } from './registry.js';

export async function layeredLayout(dir: string, tag = 'v1'): Promise<UmociLayout> {
  const layout = await UmociLayout.create(dir);
  await layout.newImage(tag);
  await layout.change(tag, async (rootfs) => {
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'ls', 'echo']) await symlink('busybox', join(rootfs, 'bin', applet));
    await mkdir(join(rootfs, 'data'));
    await writeFile(join(rootfs, 'data', 'keep'), 'kept from layer 1\n');
    await writeFile(join(rootfs, 'data', 'gone'), 'whited out by layer 2\n');
  });
  await layout.change(tag, async (rootfs) => {
    await rm(join(rootfs, 'data', 'gone'));
    await writeFile(join(rootfs, 'data', 'upper'), 'from layer 2\n');
  });
  await layout.config(tag, ['--config.cmd', 'sh', '--config.env', 'PATH=/bin', '--config.env', 'GREETING=hello', '--config.workingdir', '/data']);
  return layout;
}

/** The command that shows what a job sees of the layered image. */
export const SHOW_DATA = ['/bin/sh', '-c', 'ls /data; cat /data/upper; echo "$GREETING"'];
