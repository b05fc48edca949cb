/**
 * Network `bridge` (README "Network"): outbound IPv4 through NAT, and nothing else. The machine
 * has no outside network, so the test builds its own (test/helpers/test-internet.ts): echo servers
 * in a namespace of the test's, at a public address, a link-local one and a private one, all
 * routed through this host. Each refusal is checked against a control that shows the target is
 * there (the host itself reaches it), so that a failure means the firewall refused it, not that
 * nothing was there. Cleanup (no bridge, veth or table left) is test/runtime/sandbox-network.test.ts's.
 */
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { WebhookTargetPolicy } from '../../contract/webhook-target-policy.js';
import type { NetworkSettings } from '../../runtime/network-settings.js';
import { ATTACK_TIMEOUT_MS, describeRun, parseErrnos, programFile, securitySuite, type SandboxFixture } from '../helpers/sandbox-fixture.js';
import { TestInternet } from '../helpers/test-internet.js';

/** Read by the runtime when the first `bridge` sandbox is made: the uplink is the test internet's, set in before(). */
const settings: NetworkSettings = { namePrefix: 'wbs', pool: '172.29.0.0/16', allow: new WebhookTargetPolicy() };

async function netEcho(fx: SandboxFixture, probes: string[]): Promise<Map<string, number>> {
  const r = await fx.runJob(['./net-echo', ...probes], { network: 'bridge', files: [await programFile('net-echo')], wallTimeMs: 30_000, cpuTimeMs: 2000 });
  assert.equal(r.verdict, 'ok', describeRun(r));
  return parseErrnos(r.stdout);
}

/** A TCP listener on every address of the host, counting its connections. */
async function hostListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => count };
}

/** The control: a host process connects to address:port. */
async function hostReaches(address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createConnection({ host: address, port, timeout: 5000 }, () => {
      s.destroy();
      resolve();
    });
    s.once('timeout', () => {
      s.destroy();
      reject(new Error(`control: the host cannot reach ${address}:${port}`));
    });
    s.once('error', reject);
  });
}

function hostIpv4Addresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

describe('security: network bridge', () => {
  let inet: TestInternet;
  before(async () => {
    inet = await TestInternet.open();
    settings.uplinks = [inet.uplink];
    settings.dns = [inet.privateAddress]; // a resolver in a refused range, as in many clouds (10.x, 169.254.169.253)
  }, { timeout: 60_000 });
  const suite = securitySuite('network-bridge', { network: settings });
  after(async () => {
    await inet?.close();
  }, { timeout: 60_000 });

  /** The bridge's address, as a job sees its default route. */
  async function gatewayOf(fx: SandboxFixture): Promise<string> {
    const r = await fx.runJob(['sh', '-c', "ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p'"], { network: 'bridge', wallTimeMs: 10_000 });
    const gw = r.stdout.toString().trim();
    assert.match(gw, /^\d+\.\d+\.\d+\.\d+$/, describeRun(r));
    return gw;
  }

  it('a bridge job runs in fresh namespaces as an unprivileged user, with eth0, a default route and the configured resolver', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const script = 'readlink /proc/self/ns/net; id -u; cat /proc/net/dev | tail -n +3 | cut -d: -f1; echo ---; cat /etc/resolv.conf';
    const r = await fx.runJob(['sh', '-c', script], { network: 'bridge', wallTimeMs: 10_000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const [head = '', resolv = ''] = r.stdout.toString().split('---\n');
    const [netns, uid, ...ifaces] = head.trim().split('\n').map((l) => l.trim());
    assert.notEqual(netns, readlinkSync('/proc/self/ns/net'), 'the job shares the host network namespace');
    assert.notEqual(uid, '0');
    assert.deepEqual(ifaces.sort(), ['eth0', 'lo']);
    assert.equal(resolv.trim(), `nameserver ${inet.privateAddress}`);
  });

  it('reaches a public address over TCP and UDP, masqueraded behind the host', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const tcp = `tcp:${inet.publicAddress}:7`;
    const udp = `udp:${inet.publicAddress}:7`;
    const errnos = await netEcho(fx, [tcp, udp]);
    assert.equal(errnos.get(tcp), 0, `TCP echo: ${[...errnos]}`);
    assert.equal(errnos.get(udp), 0, `UDP echo: ${[...errnos]}`);
    assert.deepEqual(inet.tcpSourcesTo(inet.publicAddress, 7), [inet.hostAddress], 'the server saw the host, not the sandbox');
  });

  it("cannot reach the host: a listener on every host address (the bridge's, the primary one, the uplink's) and the host's 127.0.0.1", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const gateway = await gatewayOf(fx);
    const { server, port, connections } = await hostListener();
    try {
      const targets = [gateway, ...hostIpv4Addresses(), '127.0.0.1'];
      for (const t of targets) await hostReaches(t, port);
      const before = connections();
      const probes = targets.map((t) => `connect:${t}:${port}`);
      const r = await fx.runJob(['./syscalls', ...probes], { network: 'bridge', files: [await programFile('syscalls')], wallTimeMs: 30_000, cpuTimeMs: 2000 });
      const errnos = parseErrnos(r.stdout);
      for (const p of probes) assert.notEqual(errnos.get(p) ?? 0, 0, `${p} connected: ${describeRun(r)}`);
      assert.equal(connections(), before, 'the host listener got a connection from the job');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('cannot reach link-local (169.254.169.254 too) or private addresses, though they route through the host', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    for (const a of [inet.linkLocalAddress, inet.privateAddress]) await hostReaches(a, 7);
    const probes = [inet.linkLocalAddress, inet.privateAddress].flatMap((a) => [`tcp:${a}:7`, `udp:${a}:7`]);
    const metadata = 'tcp:169.254.169.254:80';
    const errnos = await netEcho(fx, [...probes, metadata]);
    for (const p of [...probes, metadata]) assert.notEqual(errnos.get(p) ?? 0, 0, `${p} answered: ${[...errnos]}`);
    for (const a of [inet.linkLocalAddress, inet.privateAddress]) {
      assert.deepEqual(inet.tcpSourcesTo(a, 7), [inet.hostAddress], `${a}: only the host's control connection arrived`);
    }
  });

  it('cannot reach another sandbox on the bridge', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const syscalls = await programFile('syscalls');
    const stop = new AbortController();
    let listenerOut = '';
    let ready!: () => void;
    const listening = new Promise<void>((resolve) => (ready = resolve));
    // The listener proves itself reachable from inside its own sandbox, at its eth0 address.
    const script = "ip=$(ip -4 -o addr show eth0 | sed 's/.* inet \\([0-9.]*\\).*/\\1/'); nc -ll -p 8080 -e true & sleep 0.5; ./syscalls connect:$ip:8080 | sed \"s/^/control $ip /\"; sleep 20";
    const first = fx.runJob(['sh', '-c', script], {
      network: 'bridge',
      files: [syscalls],
      wallTimeMs: 30_000,
      signal: stop.signal,
      onStdout: (c) => {
        listenerOut += c.toString();
        if (/control \S+ connect:\S+ \d+\n/.test(listenerOut)) ready();
      },
    });
    try {
      await Promise.race([listening, first.then(() => assert.fail(`the listener sandbox ended early: ${listenerOut}`))]);
      const [, ip, errno] = /control (\S+) connect:\S+ (\d+)/.exec(listenerOut)!;
      assert.equal(errno, '0', `control: the listener is reachable in its own sandbox: ${listenerOut}`);
      const probe = `connect:${ip}:8080`;
      const r = await fx.runJob(['./syscalls', probe], { network: 'bridge', files: [syscalls], wallTimeMs: 20_000, cpuTimeMs: 2000 });
      assert.notEqual(parseErrnos(r.stdout).get(probe) ?? 0, 0, `another sandbox connected: ${describeRun(r)}`);
    } finally {
      stop.abort();
      await first.catch(() => undefined);
    }
  });

  it('reaches the configured resolver on port 53 (TCP and UDP), though it is in a refused range, and nothing else of it', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const dns = [`udp:${inet.privateAddress}:53`, `tcp:${inet.privateAddress}:53`];
    const other = [`udp:${inet.privateAddress}:7`, `tcp:${inet.privateAddress}:7`];
    const errnos = await netEcho(fx, [...dns, ...other]);
    for (const p of dns) assert.equal(errnos.get(p), 0, `${p}: ${[...errnos]}`);
    for (const p of other) assert.notEqual(errnos.get(p) ?? 0, 0, `${p} answered: ${[...errnos]}`);
  });

  it('a none job beside them still has only loopback and no route', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    await gatewayOf(fx); // the bridge exists on this runtime
    const probe = `tcp:${inet.publicAddress}:7`;
    const r = await fx.runJob(['sh', '-c', `tail -n +3 /proc/net/dev | cut -d: -f1; echo ---; tail -n +2 /proc/net/route; echo ---; ./net-echo ${probe}`], {
      files: [await programFile('net-echo')],
      wallTimeMs: 20_000,
    });
    const [ifaces = '', routes = '', echo = ''] = r.stdout.toString().split('---\n');
    assert.deepEqual(ifaces.trim().split('\n').map((l) => l.trim()), ['lo']);
    assert.equal(routes.trim(), '');
    assert.notEqual(parseErrnos(echo).get(probe) ?? 0, 0, describeRun(r));
  });
});
