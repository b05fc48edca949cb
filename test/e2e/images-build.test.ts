/**
 * A language image built from its recipe on a worker, end to end: `warmbox image build python`
 * streams the build's log, the image is listed, and a job runs Python in it, from the image's
 * bytecode (a layer that lost the mtimes the .pyc record made python compile at every start). Opt-in
 * (WARMBOX_TEST_RECIPES=1): it debootstraps the base from the machine's Debian mirror, minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

const skip = process.env.WARMBOX_TEST_RECIPES !== '1' ? 'opt-in: set WARMBOX_TEST_RECIPES=1 (needs a Debian mirror; minutes)' : process.getuid?.() !== 0 ? 'needs root' : false;

describe('recipe images', { skip }, () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startServer();
    env = { WARMBOX_URL: server.url };
  });
  after(async () => {
    await server?.stop();
  });

  it('warmbox image build python streams the build and stores docker.io/library/python:latest; a job runs python in it', { timeout: 600_000 }, async () => {
    const build = await runCli(['image', 'build', 'python'], env);
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stdout, /debootstrap/);
    assert.match(build.stdout, /Successfully tagged docker\.io\/library\/python:latest/);

    const list = await runCli(['images'], env);
    assert.match(list.stdout, /\npython\s+latest\s/);
    assert.match(list.stdout, /\nwarmbox\.local\/debian\s+\S+-minbase\s/, 'the base it was built on is listed too');

    const res = await fetch(`${server.url}/v1/jobs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'python', cmd: ['python3', '-c', 'print(6 * 7)'] }),
    });
    const job = await res.json();
    assert.equal(job.result.verdict, 'ok', JSON.stringify(job.result));
    assert.equal(job.result.stdout, '42\n');

    // In the sandbox, python3 starts from the image's bytecode: it compiles nothing from source.
    const verbose = await fetch(`${server.url}/v1/jobs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'python', cmd: ['python3', '-v', '-c', 'print(1)'] }),
    });
    const started = await verbose.json();
    assert.equal(started.result.verdict, 'ok', JSON.stringify(started.result));
    assert.doesNotMatch(started.result.stderr, /bytecode is stale/);
    assert.match(started.result.stderr, /code object from '\/usr\/lib\/python3[.0-9]*\/encodings\/__pycache__\/aliases\.cpython-[0-9]+\.pyc'/);
  });

  it('refuses an unknown recipe', async () => {
    const res = await fetch(`${server.url}/v1/images/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cobol' }) });
    assert.equal(res.status, 400);
    const cli = await runCli(['image', 'build', 'cobol'], env);
    assert.notEqual(cli.code, 0);
  });
});
