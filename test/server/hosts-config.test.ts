/** How processes on other hosts reach the API (server/hosts-config.ts): checked at start, naming the variable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../server/config.js';

const TOKEN = 'x'.repeat(32);
const REDIS = { WARMBOX_REDIS_URL: 'redis://127.0.0.1:6399' };

describe('hosts configuration', () => {
  it('is empty by default: one host, no HTTP hop', () => {
    assert.deepEqual(loadConfig({}).hosts, {});
  });

  it('gives a worker the API URL (no trailing slash) and the token', () => {
    const c = loadConfig({ ...REDIS, WARMBOX_ROLE: 'worker', WARMBOX_API_URL: 'http://warmbox-api:8080/', WARMBOX_WORKER_TOKEN: TOKEN });
    assert.deepEqual(c.hosts, { apiUrl: 'http://warmbox-api:8080', workerToken: TOKEN });
  });

  it('refuses an API URL without a token, on a process with the API, or not http(s)', () => {
    assert.throws(() => loadConfig({ ...REDIS, WARMBOX_ROLE: 'worker', WARMBOX_API_URL: 'http://a:1' }), (e: Error) => e instanceof ConfigError && /WARMBOX_WORKER_TOKEN/.test(e.message));
    assert.throws(() => loadConfig({ WARMBOX_API_URL: 'http://a:1', WARMBOX_WORKER_TOKEN: TOKEN }), /worker-only/);
    assert.throws(() => loadConfig({ ...REDIS, WARMBOX_ROLE: 'worker', WARMBOX_API_URL: 'ftp://a', WARMBOX_WORKER_TOKEN: TOKEN }), /http or https/);
  });

  it('refuses a short token', () => {
    assert.throws(() => loadConfig({ WARMBOX_WORKER_TOKEN: 'short' }), /at least 32 characters/);
  });

  it("takes an API process's advertised address with a token, not a worker's", () => {
    assert.deepEqual(loadConfig({ WARMBOX_WORKER_TOKEN: TOKEN, WARMBOX_ADVERTISE_URL: 'http://$(POD_IP):8080' }).hosts, { workerToken: TOKEN, advertiseUrl: 'http://$(POD_IP):8080' });
    assert.throws(() => loadConfig({ WARMBOX_ADVERTISE_URL: 'http://10.0.0.3:8080' }), /needs WARMBOX_WORKER_TOKEN/);
    assert.throws(() => loadConfig({ ...REDIS, WARMBOX_ROLE: 'worker', WARMBOX_WORKER_TOKEN: TOKEN, WARMBOX_ADVERTISE_URL: 'http://10.0.0.3:8080' }), /worker serves nothing/);
  });
});
