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
import { AF, ERRNO, expectAsOnHost, expectRefused, IPPROTO, NETLINK, SOCK, socketpairProbe, socketProbe, withHighBits } from '../helpers/argument-probes.js';

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

  it('a raw socket cannot be opened (EPERM: no CAP_NET_RAW), a packet socket not even made (EAFNOSUPPORT)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'raw_socket', 'packet_socket'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    assert.equal(errnos.get('raw_socket'), EPERM, describeRun(r));
    assert.equal(errnos.get('packet_socket'), ERRNO.EAFNOSUPPORT, describeRun(r));
  });

  // Socket families are an allow-list (runtime/native/seccomp-gen-sockets.c): each family is kernel
  // code of its own, and the network namespace does not cover all of them (AF_VSOCK reaches the
  // hypervisor on a VM).
  it('sockets of any family but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK fail with EAFNOSUPPORT: AF_VSOCK, AF_PACKET, AF_BLUETOOTH, AF_ALG, AF_KEY, ..., also with junk in the upper half of the family', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    await expectRefused(await suite.fixture(), [
      socketProbe(AF.VSOCK, SOCK.STREAM, 0),
      socketProbe(AF.VSOCK, SOCK.DGRAM, 0),
      socketProbe(withHighBits(AF.VSOCK), SOCK.STREAM, 0),
      socketProbe(AF.PACKET, SOCK.RAW, 0),
      socketProbe(AF.PACKET, SOCK.DGRAM, 0),
      socketProbe(AF.BLUETOOTH, SOCK.SEQPACKET, 0),
      socketProbe(AF.ALG, SOCK.SEQPACKET, 0),
      socketProbe(AF.KEY, SOCK.RAW, 2 /* PF_KEY_V2 */),
      socketProbe(AF.TIPC, SOCK.RDM, 0),
      socketProbe(AF.RDS, SOCK.SEQPACKET, 0),
      socketProbe(AF.CAN, SOCK.RAW, 1 /* CAN_RAW */),
      socketProbe(AF.XDP, SOCK.RAW, 0),
      socketProbe(AF.SMC, SOCK.STREAM, 0),
      socketProbe(AF.MCTP, SOCK.DGRAM, 0),
      socketProbe(AF.UNSPEC, SOCK.STREAM, 0),
      socketProbe(255, SOCK.STREAM, 0),
    ], ERRNO.EAFNOSUPPORT);
  });

  it('socketpair makes AF_UNIX pairs only: pairs of AF_VSOCK, AF_INET, AF_NETLINK or AF_ALG fail with EAFNOSUPPORT', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    await expectRefused(await suite.fixture(), [
      socketpairProbe(AF.VSOCK, SOCK.STREAM, 0),
      socketpairProbe(AF.INET, SOCK.STREAM, 0),
      socketpairProbe(AF.NETLINK, SOCK.RAW, NETLINK.ROUTE),
      socketpairProbe(AF.ALG, SOCK.SEQPACKET, 0),
    ], ERRNO.EAFNOSUPPORT);
  });

  it('AF_NETLINK speaks NETLINK_ROUTE only: audit, kobject uevents, sock_diag, generic netlink, netfilter and xfrm fail with EPROTONOSUPPORT', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    await expectRefused(await suite.fixture(), [
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.AUDIT),
      socketProbe(AF.NETLINK, SOCK.DGRAM, NETLINK.KOBJECT_UEVENT),
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.SOCK_DIAG),
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.GENERIC),
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.NETFILTER),
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.XFRM),
      socketProbe(AF.NETLINK, SOCK.RAW, withHighBits(NETLINK.AUDIT)),
    ], ERRNO.EPROTONOSUPPORT);
  });

  it('AF_INET and AF_INET6 speak TCP, UDP and ICMP only: SCTP, DCCP, L2TP, UDP-Lite, MPTCP and SMC fail with EPROTONOSUPPORT', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const probes = [AF.INET, AF.INET6].flatMap((family) => [
      socketProbe(family, SOCK.STREAM, IPPROTO.MPTCP),
      socketProbe(family, SOCK.STREAM, IPPROTO.SCTP),
      socketProbe(family, SOCK.STREAM, IPPROTO.DCCP),
      socketProbe(family, SOCK.DGRAM, IPPROTO.UDPLITE),
      socketProbe(family, SOCK.DGRAM, IPPROTO.L2TP),
      socketProbe(family, SOCK.STREAM, IPPROTO.SMC),
    ]);
    await expectRefused(await suite.fixture(), probes, ERRNO.EPROTONOSUPPORT);
  });

  it('AF_INET and AF_INET6 sockets are streams, datagrams or raw: SOCK_SEQPACKET, SOCK_DCCP, SOCK_PACKET and SOCK_RDM fail with ESOCKTNOSUPPORT', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const probes = [AF.INET, AF.INET6].flatMap((family) => [
      socketProbe(family, SOCK.SEQPACKET, 0),
      socketProbe(family, SOCK.DCCP, 0),
      socketProbe(family, SOCK.DCCP | SOCK.NONBLOCK, 0),
      socketProbe(family, SOCK.PACKET, 0),
      socketProbe(family, SOCK.RDM, 0),
    ]);
    await expectRefused(await suite.fixture(), probes, ERRNO.ESOCKTNOSUPPORT);
  });

  it('no upper-layer protocol (kernel TLS, MPTCP) can be attached to a TCP socket: setsockopt(TCP_ULP) fails with ENOENT', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    await expectRefused(await suite.fixture(), ['tcp_ulp:tls', 'tcp_ulp:mptcp'], ERRNO.ENOENT);
  });

  it('control: the sockets a job needs work as on the host (AF_UNIX sockets and pairs, TCP and UDP over AF_INET and AF_INET6, NETLINK_ROUTE), and `ip` lists the job\'s interfaces and addresses', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const mustWork = [
      ...[SOCK.STREAM, SOCK.DGRAM, SOCK.SEQPACKET].flatMap((type) => [socketProbe(AF.UNIX, type, 0), socketpairProbe(AF.UNIX, type, 0)]),
      socketProbe(AF.INET, SOCK.STREAM, 0),
      socketProbe(AF.INET, SOCK.STREAM | SOCK.NONBLOCK, IPPROTO.TCP),
      socketProbe(AF.INET, SOCK.DGRAM, IPPROTO.UDP),
      socketProbe(AF.NETLINK, SOCK.RAW, NETLINK.ROUTE),
      socketProbe(AF.NETLINK, SOCK.DGRAM, NETLINK.ROUTE),
    ];
    // AF_INET6 as on the host: a host may run without IPv6.
    const asOnHost = [socketProbe(AF.INET6, SOCK.STREAM, 0), socketProbe(AF.INET6, SOCK.DGRAM, IPPROTO.UDP)];
    await expectAsOnHost(fx, [...mustWork, ...asOnHost], (probe, errno) => {
      if (mustWork.includes(probe)) assert.equal(errno, 0, `${probe} on the host`);
    });
    const r = await fx.runJob(['sh', '-c', 'ip -o link show && ip -o -4 addr show'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    assert.match(r.stdout.toString(), /^1: lo: /m, describeRun(r));
    assert.match(r.stdout.toString(), /\binet 127\.0\.0\.1\//, describeRun(r));
  });
});
