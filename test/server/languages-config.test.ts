/** Language presets from WARMBOX_LANGUAGES_FILE: added to the built-in ones, or refused at start with the reason. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { mergeLanguages } from '../../contract/languages.js';
import { ConfigError, loadConfig } from '../../server/config.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-languages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(content: unknown): string {
  const path = join(dir, `languages-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('WARMBOX_LANGUAGES_FILE', () => {
  it('adds presets, and a configured id replaces the built-in one', () => {
    const ruby = { id: 'ruby', name: 'Ruby', version: '3.1', image: 'ruby:3.1-slim', sourceFile: 'main.rb', run: ['ruby', 'main.rb'] };
    const c = { id: 'c', name: 'C (clang)', version: '16', image: 'clang', sourceFile: 'main.c', build: ['clang', '-O2', '-o', 'main', 'main.c'], run: ['./main'] };
    const { languages } = loadConfig({ WARMBOX_LANGUAGES_FILE: file([ruby, c]) });
    const merged = mergeLanguages(languages);
    assert.deepEqual(merged.find((l) => l.id === 'ruby'), ruby);
    assert.deepEqual(merged.find((l) => l.id === 'c'), c);
    assert.ok(merged.some((l) => l.id === 'python'), 'the other built-in presets stay');
  });

  it('none configured: the built-in presets only', () => {
    assert.deepEqual(loadConfig({}).languages, []);
  });

  it('refuses a missing file, bad JSON, and a preset without a run command, naming the variable', () => {
    for (const [path, why] of [
      [join(dir, 'missing.json'), /ENOENT/],
      [file('[{'), /JSON/],
      [file([{ id: 'x', name: 'X', version: '1', image: 'busybox', sourceFile: 'main.x' }]), /0\.run/],
      [file([{ id: 'X Y', name: 'X', version: '1', image: 'busybox', sourceFile: 'main.x', run: ['x'] }]), /0\.id/],
    ] as const) {
      assert.throws(() => loadConfig({ WARMBOX_LANGUAGES_FILE: path }), (err: Error) => err instanceof ConfigError && /WARMBOX_LANGUAGES_FILE/.test(err.message) && why.test(err.message), path);
    }
  });
});
