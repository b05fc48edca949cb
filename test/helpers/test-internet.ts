/**
 * A small "internet" for tests of network `bridge`, where no outside network exists: a network
 * namespace of the test's own, behind a veth pair whose host end is the uplink the runtime is told
 * to use. Inside, TCP and UDP echo servers on ports 7 and 53 at a globally routable address (not in any
 * refused range: 11.x.y.2, routed to this host's veth by the /30 on it, never past it), and at a
 * link-local and a private address (/32 routes via the veth, for as long as it exists) — so that
 * a refusal of those is the firewall's, not a missing route's: the host itself reaches all three.
 * Names and addresses come from the test's pid, apart from other runs on the host.
 *
 *   const net = await TestInternet.open();   // net.uplink: the runtime's WARMBOX_NETWORK_UPLINKS
 *   ... net.publicAddress, net.connectionsTo(address)
 *   await net.close();                      // the namespace, the veth and its routes go
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { hostCommand } from '../../runtime/host-command.js';

/**
 * The echo servers (TCP and UDP, on port 7 and on DNS's port 53, at each address given), run inside
 * the namespace by node; a line per TCP connection (`tcp <local address>:<port> <remote address>`)
 * and per UDP datagram, then `ready` once all listen. A UDP socket per address: one bound to 0.0.0.0
 * would answer from the primary address, which the sender's conntrack would not match.
 */
const SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
const addresses = process.argv.slice(1);
let listening = 0;
const up = () => { if (++listening === addresses.length * 4) console.log('ready'); };
for (const address of addresses) for (const port of [7, 53]) {
  net.createServer((s) => { console.log('tcp ' + s.localAddress + ':' + s.localPort + ' ' + s.remoteAddress); s.pipe(s); s.on('error', () => {}); }).listen(port, address, up);
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { console.log('udp ' + address + ':' + port); u.send(m, r.port, r.address); });
  u.bind(port, address, up);
}
`;

export class TestInternet {
  private readonly seen: string[] = [];

  private constructor(
    readonly netns: string,
    /** The host end of the veth: the uplink replies come in on. */
    readonly uplink: string,
    readonly hostAddress: string,
    readonly publicAddress: string,
    readonly linkLocalAddress: string,
    readonly privateAddress: string,
  ) {}

  private server?: ChildProcess;

  static async open(): Promise<TestInternet> {
    const pid = process.pid;
    const a = (pid >> 8) & 255;
    const b = pid & 252; // a /30: .b is its network, .b+1 the host's end, .b+2 the servers'
    const net = new TestInternet(
      `warmbox-test-inet-${pid}`,
      `wti${pid.toString(36)}`,
      `11.${a}.${b}.${b + 1}`,
      `11.${a}.${b}.${b + 2}`,
      `169.254.77.${(pid % 250) + 2}`,
      `192.168.${a}.${(pid % 250) + 2}`,
    );
    await net.build();
    return net;
  }

  private async build(): Promise<void> {
    const server = this.publicAddress;
    const peer = `${this.uplink}p`;
    try {
      await ip('netns', 'add', this.netns);
      await ip('link', 'add', this.uplink, 'type', 'veth', 'peer', 'name', peer);
      await ip('link', 'set', peer, 'netns', this.netns);
      await ip('addr', 'add', `${this.hostAddress}/30`, 'dev', this.uplink);
      await ip('link', 'set', this.uplink, 'up');
      await inNs(this.netns, 'ip', 'link', 'set', 'lo', 'up');
      await inNs(this.netns, 'ip', 'addr', 'add', `${server}/30`, 'dev', peer);
      await inNs(this.netns, 'ip', 'addr', 'add', `${this.linkLocalAddress}/32`, 'dev', peer);
      await inNs(this.netns, 'ip', 'addr', 'add', `${this.privateAddress}/32`, 'dev', peer);
      await inNs(this.netns, 'ip', 'link', 'set', peer, 'up');
      await inNs(this.netns, 'ip', 'route', 'add', 'default', 'via', this.hostAddress);
      await ip('route', 'add', `${this.linkLocalAddress}/32`, 'via', server, 'dev', this.uplink);
      await ip('route', 'add', `${this.privateAddress}/32`, 'via', server, 'dev', this.uplink);
      await this.startServers();
      await this.checkRoutedHere();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async startServers(): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.netns, process.execPath, '-e', SERVER, this.publicAddress, this.linkLocalAddress, this.privateAddress], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.server = child;
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the test internet's echo servers exited (${code})`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
        else this.seen.push(line);
      });
    });
  }

  /** Never a packet past this host: each test address must route to the test's own veth. */
  private async checkRoutedHere(): Promise<void> {
    for (const address of [this.publicAddress, this.linkLocalAddress, this.privateAddress]) {
      const route = await hostCommand('ip', ['route', 'get', address]);
      if (!route.includes(`dev ${this.uplink} `)) throw new Error(`the test address ${address} does not route to ${this.uplink}: ${route.trim()}`);
    }
  }

  /** Lines the servers printed: `tcp <local address>:<port> <remote address>` per connection, `udp <address>:<port>` per datagram. */
  get log(): readonly string[] {
    return this.seen;
  }

  /** The sources the servers saw TCP connections to `address`:`port` from. */
  tcpSourcesTo(address: string, port: number): string[] {
    return this.seen.filter((l) => l.startsWith(`tcp ${address}:${port} `)).map((l) => l.split(' ')[2]!);
  }

  async close(): Promise<void> {
    if (this.server && this.server.exitCode === null) {
      const exited = new Promise((r) => this.server!.once('exit', r));
      this.server.kill('SIGKILL');
      await exited;
    }
    if (existsSync(`/sys/class/net/${this.uplink}`)) await ip('link', 'del', this.uplink); // its routes go with it
    await ip('netns', 'del', this.netns).catch(() => undefined);
  }
}

function ip(...args: string[]): Promise<string> {
  return hostCommand('ip', args);
}

function inNs(netns: string, ...cmd: string[]): Promise<string> {
  return hostCommand('ip', ['netns', 'exec', netns, ...cmd]);
}
