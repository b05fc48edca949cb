/** The launcher zygote answers a ping (GET /readyz's `launcher` check), and one that is stopped does not, within the bound. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launcherPath } from '../../contract/paths.js';
import { LauncherZygote } from '../../runtime/launcher-zygote.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

describe('launcher zygote ping', () => {
  let dir: string;
  let zygote: LauncherZygote;
  before(async () => {
    dir = await makeTempDir('zygote-ping');
    zygote = await LauncherZygote.start(launcherPath(), join(dir, 'launcher.sock'));
  });
  after(async () => {
    const pid = zygote?.pid;
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
    await zygote?.close();
    await removeTempDir(dir);
  });

  it('answers while it runs', async () => {
    await zygote.ping(10_000);
    await Promise.all([zygote.ping(10_000), zygote.ping(10_000)]);
  });

  it('fails within its bound when the zygote does not read its requests (SIGSTOP), and answers again after', async () => {
    const pid = zygote.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await assert.rejects(zygote.ping(300), /did not answer a ping within 300 ms/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await zygote.ping(10_000);
  });
});
