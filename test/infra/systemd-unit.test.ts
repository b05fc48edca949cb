/**
 * The systemd units in infra/systemd/: valid for systemd (`systemd-analyze verify`, which prints a
 * warning for an unknown key or value and still exits 0, so any output fails), and set up for
 * warmbox's stop: SIGTERM to the main process only (KillMode=mixed) and a TimeoutStopSec longer
 * than the default grace period, so that systemd's SIGKILL never cuts a drain short.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../contract/paths.js';
import { STOP_GRACE_MS } from '../../server/config.js';

const UNITS = ['warmbox.service', 'warmbox-worker.service'];
/** Where `npm run setup` links the CLI, which the units start. */
const INSTALLED_CLI = '/usr/local/bin/warmbox';

function unitText(name: string): string {
  return readFileSync(join(packageRoot(), 'infra/systemd', name), 'utf8');
}

/** The last value of a [Service] key (systemd: a later assignment wins). */
function setting(text: string, key: string): string | undefined {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].at(-1)?.[1]?.trim();
}

/** systemd's time span syntax, the forms a unit here would use: "90", "90s", "1min 30s", "2min". */
function seconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  return span.split(/\s+/).reduce((sum, part) => {
    const m = /^(\d+)([a-z]*)$/.exec(part);
    assert.ok(m && m[2]! in units, `a time span this test reads: ${span}`);
    return sum + Number(m[1]) * units[m[2]!]!;
  }, 0);
}

const verifyAvailable = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('infra/systemd units', () => {
  for (const name of UNITS) {
    it(`${name}: KillMode=mixed, TimeoutStopSec above the default stop grace, restarted on failure`, () => {
      const text = unitText(name);
      assert.equal(setting(text, 'KillMode'), 'mixed', 'SIGTERM to the main process only; it stops its sandboxes and Redis itself');
      const timeout = seconds(setting(text, 'TimeoutStopSec') ?? '90');
      const grace = Number(setting(text, 'Environment=WARMBOX_STOP_GRACE_MS') ?? STOP_GRACE_MS.default);
      assert.ok(timeout * 1000 > STOP_GRACE_MS.default, `TimeoutStopSec ${timeout} s exceeds the default grace ${STOP_GRACE_MS.default} ms`);
      assert.ok(timeout * 1000 > grace, `TimeoutStopSec ${timeout} s exceeds the unit's own grace ${grace} ms`);
      assert.equal(setting(text, 'Restart'), 'on-failure');
      assert.equal(setting(text, 'Delegate'), 'yes', 'cgroup v2: the sandboxes\' controllers are delegated');
    });

    it(`${name}: systemd-analyze verify finds nothing to say`, { skip: !verifyAvailable && 'systemd-analyze is not installed on this machine' }, () => {
      // verify also checks that ExecStart's program exists: point it at this checkout's CLI.
      const dir = mkdtempSync(join(tmpdir(), 'warmbox-unit-'));
      try {
        const unit = join(dir, name);
        writeFileSync(unit, unitText(name).replaceAll(INSTALLED_CLI, join(packageRoot(), 'dist/cli/main.js')));
        const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no warning');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
