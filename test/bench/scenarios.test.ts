/**
 * bench/scenarios.json is the one definition of the benchmark scenarios: it is valid, and both
 * runners — the k6 script(s) in bench/k6/ and the Node runner bench/http.ts — read that very
 * file and repeat none of its data.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { arrivalOffsetsMs, checkScenarios, jobsOf, loadScenarios, SCENARIOS_PATH } from '../../bench/lib/scenarios.js';
import { packageRoot } from '../../contract/paths.js';

const BENCH = join(packageRoot(), 'bench');
const K6_DIR = join(BENCH, 'k6');
const k6Scripts = readdirSync(K6_DIR).filter((f) => f.endsWith('.js'));
const nodeRunner = ['http.ts', ...readdirSync(join(BENCH, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => `lib/${f}`)].filter((f) => f !== 'lib/scenarios.ts');

describe('bench/scenarios.json', () => {
  it('is valid: every scenario has an image, a command, modes, load shapes and known thresholds', () => {
    const file = loadScenarios();
    assert.ok(file.scenarios.length >= 4);
    assert.deepEqual(file.poolBounds.cold.max, 0);
    assert.ok(file.poolBounds.warm.max > 0);
  });

  it('holds the scenarios of the issue: trivial, output, python hello world, sustained 250 jobs/s', () => {
    const byName = new Map(loadScenarios().scenarios.map((s) => [s.name, s]));
    assert.deepEqual(byName.get('trivial')?.cmd, ['true']);
    assert.deepEqual(byName.get('output')?.cmd, ['echo', 'hello']);
    assert.deepEqual(byName.get('python')?.cmd, ['python3', '-c', 'print(1)']);
    assert.equal(byName.get('python')?.image, 'python');
    assert.ok(byName.get('python')?.skipUnless, 'python is skipped, with a note, when its image is missing');
    const sustained = byName.get('sustained')!;
    assert.deepEqual(sustained.load, { shape: 'constant', rate: 250, durationS: 10 });
    assert.ok(sustained.warmup, 'the pools adapt before the measured load');
    assert.deepEqual(byName.get('trivial')?.thresholds.warm, { p50Ms: 5, p99Ms: 25, acquireP50Ms: 0.2, minWarmRatio: 0.95, maxErrorRate: 0 });
    assert.equal(byName.get('trivial')?.thresholds.cold?.acquireP50Ms, 3);
    assert.equal(byName.get('trivial')?.sandboxFloor, true, 'compared with bench/sandbox.ts, which runs busybox true');
    assert.deepEqual(sustained.thresholds.warm, { p99Ms: 50, minThroughput: 250, maxErrorRate: 0 });
  });

  it('rejects a malformed file, naming each problem', () => {
    const good = loadScenarios();
    const bad: any = structuredClone(good);
    bad.scenarios[0]!.modes = ['lukewarm'];
    bad.scenarios[1]!.load = { shape: 'ramp', fromRate: 10, durationS: 5 };
    bad.scenarios[2]!.thresholds = { warm: { p42Ms: 1 } };
    bad.scenarios[3]!.name = good.scenarios[0]!.name;
    assert.throws(() => checkScenarios(bad), (e: Error) => /modes/.test(e.message) && /load/.test(e.message) && /p42Ms: unknown/.test(e.message) && /used twice/.test(e.message));
  });

  it('gives constant and ramp loads the jobs their rates promise, in order', () => {
    const constant = arrivalOffsetsMs({ shape: 'constant', rate: 250, durationS: 10 });
    assert.equal(constant.length, 2500);
    assert.equal(constant[1], 4);
    const ramp = arrivalOffsetsMs({ shape: 'ramp', fromRate: 10, toRate: 100, durationS: 10 });
    assert.equal(ramp.length, 550);
    assert.ok(ramp.every((t, i) => i === 0 || t > ramp[i - 1]!));
    assert.ok(ramp.at(-1)! < 10_000);
    // Sparse at the start (10/s), dense at the end (100/s).
    assert.ok(ramp[1]! - ramp[0]! > 5 * (ramp.at(-1)! - ramp.at(-2)!));
    assert.equal(jobsOf({ shape: 'constant', rate: 50, durationS: 10 }), 500);
  });
});

describe('the runners share bench/scenarios.json', () => {
  it('every k6 script reads it with open(), relative to the script', () => {
    assert.ok(k6Scripts.length > 0, 'bench/k6 has scripts');
    for (const script of k6Scripts) {
      const source = readFileSync(join(K6_DIR, script), 'utf8');
      const opened = [...source.matchAll(/\bopen\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => resolve(K6_DIR, m[1]!));
      assert.deepEqual(opened, [SCENARIOS_PATH], `${script} opens ${opened.join(', ')}`);
    }
  });

  it('the Node runner reads it through bench/lib/scenarios.ts', () => {
    assert.equal(SCENARIOS_PATH, join(BENCH, 'scenarios.json'));
    const runner = readFileSync(join(BENCH, 'http.ts'), 'utf8');
    assert.match(runner, /from '\.\/lib\/scenarios\.js'/);
    assert.match(runner, /loadScenarios\(\)/);
    assert.equal(dirname(SCENARIOS_PATH), BENCH);
  });

  it('neither runner repeats a scenario: no name, command, image or rate of one appears in their code', () => {
    const sources = [...k6Scripts.map((f) => join(K6_DIR, f)), ...nodeRunner.map((f) => join(BENCH, f))].map((path) => ({ path, text: readFileSync(path, 'utf8') }));
    for (const s of loadScenarios().scenarios) {
      const literals = [`'${s.name}'`, `"${s.name}"`, JSON.stringify(s.cmd), `'${s.cmd.join(' ')}'`, ...s.cmd.filter((a) => a.length > 4).map((a) => `'${a}'`), `'${s.image}'`, `"${s.image}"`];
      for (const { path, text } of sources) {
        for (const literal of literals) assert.ok(!text.includes(literal), `${path} repeats ${literal} of scenario ${s.name}`);
      }
    }
  });
});
