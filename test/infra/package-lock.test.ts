/**
 * package-lock.json is complete, so that `npm install` (and `npm run setup`) leaves the tracked file
 * as it is and `npm ci` accepts it. Checked offline, from the lock alone: npm adds to a lock what it
 * lacks, and what a lock can lack is an entry for a package that another entry depends on — above
 * all the other platforms' optional packages (msgpackr-extract's, esbuild's), which an npm that
 * resolved the tree on one platform may leave out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../contract/paths.js';

interface LockEntry {
  version?: string;
  link?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

const root = packageRoot();
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

/** The lock key Node would load `name` from for the package at `from` ('' is the project): its own node_modules, then each parent's. */
function resolveInLock(packages: Lock['packages'], from: string, name: string): string | undefined {
  for (let base = from; ; ) {
    const key = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[key]) return key;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** Every `entry → dependency` of the lock that has no entry of its own: what npm install would add. */
export function missingEntries(packages: Lock['packages']): string[] {
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (entry.link) continue;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional);
    const wanted: Record<string, string> = {
      ...Object.fromEntries(peers.map((n) => [n, entry.peerDependencies![n]!])),
      ...(path === '' ? entry.devDependencies : {}),
      ...entry.optionalDependencies,
      ...entry.dependencies,
    };
    for (const [name, range] of Object.entries(wanted)) {
      const found = resolveInLock(packages, path, name);
      // A pinned version (platform packages pin theirs) must be the one found, not another copy's.
      const pinnedElsewhere = found !== undefined && /^\d+\.\d+\.\d+$/.test(range) && packages[found]?.version !== range;
      if (found === undefined || pinnedElsewhere) missing.push(`${path || '(project)'} → ${name}`);
    }
  }
  return missing;
}

describe('package-lock.json', () => {
  it('is a v3 lock whose project entry lists package.json\'s dependencies exactly (else npm ci refuses it)', () => {
    assert.equal(lock.lockfileVersion, 3);
    const project = lock.packages[''];
    assert.ok(project, 'the lock has the project entry ""');
    assert.deepEqual(project.dependencies ?? {}, manifest.dependencies ?? {});
    assert.deepEqual(project.devDependencies ?? {}, manifest.devDependencies ?? {});
  });

  it('has an entry for every dependency of every entry, every platform\'s optional packages included', () => {
    assert.deepEqual(missingEntries(lock.packages), []);
  });

  it('the check finds each platform package left out, as npm resolving on one platform leaves them', () => {
    const withOptional = Object.entries(lock.packages).filter(([path, e]) => path !== '' && Object.keys(e.optionalDependencies ?? {}).length > 0);
    assert.ok(withOptional.length > 0, 'some package of the lock has optional dependencies (msgpackr-extract has)');
    for (const [path, entry] of withOptional) {
      for (const name of Object.keys(entry.optionalDependencies!)) {
        const trimmed = { ...lock.packages };
        delete trimmed[resolveInLock(trimmed, path, name)!];
        assert.deepEqual(missingEntries(trimmed), [`${path} → ${name}`]);
      }
    }
  });
});
