import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argvOf, envOf, NoCommandError } from '../../worker/job-command.js';

const config = { entrypoint: [], cmd: ['sh'], env: ['PATH=/bin', 'LANG=C.UTF-8'], workingDir: '', user: '' };

describe('job command', () => {
  it("uses the request's cmd, else the image's Cmd, after the Entrypoint (docker run)", () => {
    assert.deepEqual(argvOf({ image: 'x', cmd: ['echo', 'hi'] }, config), ['echo', 'hi']);
    assert.deepEqual(argvOf({ image: 'x' }, config), ['sh']);
    assert.deepEqual(argvOf({ image: 'x', cmd: ['-c', '1'] }, { ...config, entrypoint: ['python3'] }), ['python3', '-c', '1']);
    assert.throws(() => argvOf({ image: 'x' }, { ...config, cmd: [] }), NoCommandError);
  });

  it("overlays the request's env on the image's, and nothing of the worker's", () => {
    process.env.WARMBOX_TEST_SECRET = 'leak';
    const env = envOf({ env: { LANG: 'en', K: 'v' } }, config);
    assert.ok(env.includes('PATH=/bin'));
    assert.ok(env.includes('LANG=en'));
    assert.ok(env.includes('K=v'));
    assert.ok(env.includes('HOME=/tmp'));
    assert.ok(!env.some((e) => e.includes('leak')));
  });
});
