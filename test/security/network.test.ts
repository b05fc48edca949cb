/**
 * Network isolation (Judge0 CVE-2024-29021: a job reached internal services). A job has its own
 * network namespace with only a loopback device: no route to the host's services (Redis, the db,
 * the API all listen there), to the cloud metadata address, or to anything else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { ATTACK_TIMEOUT_MS, describeRun, parseErrnos, programFile, securitySuite } from '../helpers/sandbox-fixture.js';

const EPERM = 1;
const ENETUNREACH = 101;
const ECONNREFUSED = 111;

/** A host server that counts the connections it gets. */
async function listen(where: { port: 0; host: string } | { path: string }): Promise<{ server: Server; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in where) server.listen(where.path, resolve);
    else server.listen(where.port, where.host, resolve);
  });
  return { server, connections: () => count };
}

/** Connects from the host (the control: the listener is there) and waits until the server saw it. */
async function hostConnects(target: { port: number; host: string } | { path: string }, connections: () => number): Promise<void> {
  const seen = connections();
  await new Promise<void>((resolve, reject) => {
    const socket = createConnection(target, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  for (let i = 0; i < 500 && connections() === seen; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(connections(), seen + 1, 'control: a host process can connect to the listener');
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('security: network', () => {
  const suite = securitySuite('network');

  it('the job sees only a loopback interface and has no routes', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', 'cat /proc/net/dev; echo ---; cat /proc/net/route'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const [dev = '', route = ''] = r.stdout.toString().split('---\n');
    const interfaces = dev.split('\n').slice(2).map((line) => line.split(':')[0]!.trim()).filter(Boolean);
    assert.deepEqual(interfaces, ['lo']);
    assert.deepEqual(route.trim().split('\n').slice(1), [], 'no IPv4 route');
  });

  it("a TCP port the host listens on at 127.0.0.1 is unreachable (ECONNREFUSED: the job's loopback is its own)", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const { server, connections } = await listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = server.address() as AddressInfo;
      await hostConnects({ port, host: '127.0.0.1' }, connections);
      const hostConnections = connections();
      const probe = `connect:127.0.0.1:${port}`;
      const r = await fx.runJob(['./syscalls', probe], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
      assert.equal(parseErrnos(r.stdout).get(probe), ECONNREFUSED, describeRun(r));
      assert.equal(connections(), hostConnections, 'the host server got a connection from the job');
    } finally {
      await close(server);
    }
  });

  it("the host's other addresses and the cloud metadata service 169.254.169.254 are unreachable (ENETUNREACH)", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const hostAddresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    const probes = ['connect:169.254.169.254:80', 'udp:169.254.169.254:53', 'connect:10.0.0.1:6379', ...hostAddresses.map((a) => `connect:${a}:6379`)];
    const r = await fx.runJob(['./syscalls', ...probes], { files: [await programFile('syscalls')], wallTimeMs: 20_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    for (const probe of probes) assert.equal(errnos.get(probe), ENETUNREACH, `${probe}: ${describeRun(r)}`);
  });

  it('an abstract unix socket of the host is unreachable (it belongs to the network namespace)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const name = `warmbox-test-${randomBytes(6).toString('hex')}`;
    const { server, connections } = await listen({ path: `\0${name}` });
    try {
      // Control: the socket is there for a host process.
      await hostConnects({ path: `\0${name}` }, connections);
      const before = connections();
      const probe = `abstract:${name}`;
      const r = await fx.runJob(['./syscalls', probe], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
      assert.equal(parseErrnos(r.stdout).get(probe), ECONNREFUSED, describeRun(r));
      assert.equal(connections(), before, 'the host server got a connection from the job');
    } finally {
      await close(server);
    }
  });

  it('raw and packet sockets cannot be opened (EPERM)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'raw_socket', 'packet_socket'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    assert.equal(errnos.get('raw_socket'), EPERM, describeRun(r));
    assert.equal(errnos.get('packet_socket'), EPERM, describeRun(r));
  });
});
