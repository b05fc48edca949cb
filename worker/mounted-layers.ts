/**
 * Layer directories of a snapshot store that overlay mounts on this host still use as lower dirs,
 * found where the kernel says: /proc/<pid>/mountinfo, once per mount namespace. Sandboxes mount
 * their root in a namespace of their own, so this sees every sandbox of every warmbox process that
 * shares the store, parked or running. A garbage collection keeps these (keepLayerDirs): removing
 * files under a live overlay would pull the floor from under a job.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';

export async function mountedLayerDirs(storeRoot: string, procDir = '/proc'): Promise<Set<string>> {
  const layersPrefix = `${resolve(storeRoot)}/layers/`;
  const found = new Set<string>();
  const seenNamespaces = new Set<string>();
  for (const name of await readdir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    let mountinfo: string;
    try {
      const ns = await readlink(`${procDir}/${name}/ns/mnt`);
      if (seenNamespaces.has(ns)) continue;
      seenNamespaces.add(ns);
      mountinfo = await readFile(`${procDir}/${name}/mountinfo`, 'utf8');
    } catch {
      continue; // the process exited meanwhile, or is not ours to read
    }
    for (const dir of overlayLowerDirs(mountinfo)) {
      if (dir.startsWith(layersPrefix)) found.add(dir);
    }
  }
  return found;
}

/**
 * The lower dirs of every overlay mount in a mountinfo text. Fields: `id parent maj:min root
 * mountpoint options [optional...] - fstype source superoptions`; the kernel escapes space, tab,
 * newline and backslash as \ooo, and overlayfs escapes ',' '=' and ':' in its option values.
 */
export function overlayLowerDirs(mountinfo: string): string[] {
  const dirs: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'overlay') continue;
    for (const option of splitUnescaped(superOptions, ',')) {
      const m = /^lowerdir\+?=(.*)$/s.exec(option);
      if (!m) continue;
      for (const dir of splitUnescaped(m[1]!, ':')) dirs.push(unescape(dir));
    }
  }
  return dirs;
}

function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[++i];
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))).replace(/\\(.)/g, '$1');
}
