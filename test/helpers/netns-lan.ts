/**
 * Several "hosts" on this machine for multi-host tests: each a network namespace of its own, all
 * on one bridge, with loopback-range addresses only (127.77.0.0/24), so nothing the test starts can
 * be reached from, or reach, any real network. The machine's own namespace is not touched.
 *
 *   core   127.77.0.1   the bridge lives here; Redis, Postgres and the API run here
 *   hostN  127.77.0.1N  a worker each, behind a veth on the bridge
 *
 * 127.0.0.0/8 is routed to `lo` by every namespace's local table, which would swallow the
 * bridge's addresses; inside these namespaces (ours alone) that route is narrowed to 127.0.0.1,
 * and route_localnet lets 127.77.0.0/24 travel over the veths.
 *
 * The test process, in the machine's namespace, reaches a service in `core` through a forwarder:
 * a TCP port on the machine's 127.0.0.1 → a unix socket (the filesystem is shared) → a process in
 * `core` (netns-forwarder.ts) → the service's address.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';
import { makeTempDir, removeTempDir } from './tmp.js';

const SUBNET = '127.77.0';

export interface Netns {
  readonly name: string;
  /** This namespace's address on the bridge. */
  readonly address: string;
  /** Spawns a command inside the namespace (its network namespace only: mounts are the machine's). */
  spawn(command: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
}

export interface NetnsLan {
  readonly core: Netns;
  readonly hosts: Netns[];
  /** One more host on the bridge (a host added later). */
  addHost(): Netns;
  /** A URL on the machine's loopback that reaches `address:port` in `core`. */
  forward(port: number): Promise<string>;
  destroy(): Promise<void>;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Namespace names carry the test process's pid: two test runs never share one. */
export async function createLan(hostCount: number): Promise<NetnsLan> {
  const prefix = `wbt${process.pid}`;
  const made: string[] = [];
  const forwarders: { server: Server; child: ChildProcess }[] = [];
  const dir = await makeTempDir('netns-lan');
  const makeNs = (name: string, device: string, address: string): Netns => {
    ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', device);
    ip('-n', name, 'link', 'set', device, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
    execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1', `net.ipv4.conf.${device}.route_localnet=1`]);
    return {
      name,
      address,
      // nsenter switches the network namespace alone; `ip netns exec` would also remount /sys,
      // hiding the cgroup file systems a worker needs under /sys/fs/cgroup.
      spawn: (command, args, opts = {}) => spawn('nsenter', [`--net=/run/netns/${name}`, '--', command, ...args], opts),
    };
  };

  const core = `${prefix}core`;
  ip('netns', 'add', core);
  made.push(core);
  ip('-n', core, 'link', 'add', 'br0', 'type', 'bridge');
  const coreNs = makeNs(core, 'br0', `${SUBNET}.1`);

  const hosts: Netns[] = [];
  const addHost = (): Netns => {
    const i = hosts.length + 1;
    const name = `${prefix}h${i}`;
    ip('netns', 'add', name);
    made.push(name);
    ip('-n', core, 'link', 'add', `vh${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    ip('-n', core, 'link', 'set', `vh${i}`, 'master', 'br0', 'up');
    const host = makeNs(name, 'eth0', `${SUBNET}.${10 + i}`);
    hosts.push(host);
    return host;
  };

  try {
    for (let i = 0; i < hostCount; i++) addHost();
  } catch (err) {
    for (const name of made) ip('netns', 'del', name);
    await removeTempDir(dir);
    throw err;
  }

  return {
    core: coreNs,
    hosts,
    addHost,
    async forward(port) {
      const socket = join(dir, `fwd-${port}.sock`);
      const child = coreNs.spawn(process.execPath, [join(packageRoot(), 'dist/test/helpers/netns-forwarder.js'), socket, coreNs.address, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(child.stdout!, 'data');
      const server = createServer((client) => {
        const upstream = createConnection(socket);
        client.pipe(upstream).pipe(client);
        const end = () => (client.destroy(), upstream.destroy());
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      forwarders.push({ server, child });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('forwarder has no TCP address');
      return `http://127.0.0.1:${address.port}`;
    },
    async destroy() {
      for (const { server, child } of forwarders) {
        server.close();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }
      // Deleting a namespace deletes its veths and the bridge with it.
      for (const name of made.reverse()) ip('netns', 'del', name);
      await removeTempDir(dir);
    },
  };
}

/** Whether this machine can make network namespaces (root with `ip`); tests say so loudly otherwise. */
export function netnsAvailable(): boolean {
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}
