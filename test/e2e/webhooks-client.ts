/** HTTP helpers of the webhook tests (test/e2e/webhooks*.test.ts). */
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/warmbox-server.js';

export async function api(server: TestServer, path: string): Promise<any> {
  const res = await fetch(`${server.url}${path}`).catch((err: Error) => {
    throw new Error(`GET ${path}: ${err.message} (${String(err.cause)}); server log: ${server.logFile}`, { cause: err });
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

/** Submits a job (202) and returns its id; `wait`: until it finished (200). */
export async function submit(server: TestServer, job: unknown, wait = false): Promise<string> {
  const res = await fetch(`${server.url}/v1/jobs${wait ? '?wait=true' : ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
  const body = (await res.json()) as any;
  assert.equal(res.status, wait ? 200 : 202, JSON.stringify(body));
  return body.id;
}

/** Polls until `check` is true; fails after `timeoutMs`, naming what did not happen. */
export async function eventually(check: () => Promise<boolean>, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The job's one delivery once it is in `state`. */
export async function waitForDeliveryState(server: TestServer, id: string, state: string): Promise<any> {
  let last: any;
  await eventually(async () => {
    last = (await api(server, `/v1/jobs/${id}/deliveries`)).deliveries[0];
    return last?.state === state;
  }, () => `delivery of ${id} ${state} (last seen: ${JSON.stringify(last)})`);
  return last;
}
