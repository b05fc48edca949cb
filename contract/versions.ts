/** What a process runs on, as `warmbox status` shows it (like `docker info`): warmbox, Node, the kernel. */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

export interface ProcessVersions {
  warmbox: string;
  node: string;
  /** The kernel release (`uname -r`). */
  kernel: string;
}

let warmbox: string | undefined;

export function processVersions(): ProcessVersions {
  warmbox ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return { warmbox, node: process.versions.node, kernel: release() };
}
