/**
 * The life of a worker's network `bridge` on the host: made with its first networked sandbox,
 * a veth per sandbox gone with it, everything (bridge, nftables table) gone when the runtime
 * closes, and what a worker that was killed left behind removed by the next runtime that opens.
 * The attacks on it are test/security/network-bridge.test.ts's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebhookTargetPolicy } from '../../contract/webhook-target-policy.js';
import { firewallTables, nftRuleset, TABLE_PREFIX } from '../../runtime/firewall-nft.js';
import { hostCommand } from '../../runtime/host-command.js';
import type { NetworkSettings } from '../../runtime/network-settings.js';
import { SandboxNetwork } from '../../runtime/sandbox-network.js';
import { describeRun, SandboxFixture } from '../helpers/sandbox-fixture.js';
import { removeTempDir } from '../helpers/tmp.js';

/** No uplink: these tests change no sysctl of the host's interfaces. */
const settings: NetworkSettings = { namePrefix: 'wbr', pool: '172.29.0.0/16', allow: new WebhookTargetPolicy(), uplinks: [] };

function linksStartingWith(prefix: string): string[] {
  return readdirSync('/sys/class/net').filter((n) => n.startsWith(prefix));
}

async function crashedWorker(): Promise<{ pid: number; bridge: string; dataDir: string }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--as-worker-that-dies'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it made its network`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return JSON.parse(line) as { pid: number; bridge: string; dataDir: string };
}

/** The child: a runtime with a parked bridge sandbox, then it waits to be killed. */
async function workerThatDies(): Promise<void> {
  const fx = await SandboxFixture.open('network-crash', { network: settings });
  await fx.createSandbox(fx.busybox, undefined, 'bridge');
  process.stdout.write(`${JSON.stringify({ pid: process.pid, bridge: SandboxNetwork.bridgeNameOf(settings.namePrefix), dataDir: fx.dataDir })}\n`);
  setInterval(() => {}, 1 << 30);
}

if (process.argv.includes('--as-worker-that-dies')) {
  await workerThatDies();
} else {
  describe('runtime: network bridge on the host', () => {
    it('is made with the first bridge sandbox; each veth goes with its sandbox, the bridge and table with the runtime', { timeout: 120_000 }, async () => {
      const bridge = SandboxNetwork.bridgeNameOf(settings.namePrefix);
      const fx = await SandboxFixture.open('network-life', { network: settings });
      try {
        const none = await fx.runJob(['true']);
        assert.equal(none.verdict, 'ok', describeRun(none));
        assert.ok(!existsSync(`/sys/class/net/${bridge}`), 'a none sandbox made no bridge');
        const r = await fx.runJob(['sh', '-c', 'ip -4 -o addr show eth0'], { network: 'bridge' });
        assert.equal(r.verdict, 'ok', describeRun(r));
        assert.ok(existsSync(`/sys/class/net/${bridge}`), 'the bridge exists while the runtime is open');
        assert.ok((await firewallTables()).includes(TABLE_PREFIX + bridge), 'the table exists while the runtime is open');
        assert.deepEqual(linksStartingWith(`${bridge}-`), [], 'the finished sandbox left its veth');
      } finally {
        await fx.teardown();
      }
      assert.deepEqual(linksStartingWith(bridge), [], 'the bridge or a veth outlived the runtime');
      assert.ok(!(await firewallTables()).includes(TABLE_PREFIX + bridge), 'the table outlived the runtime');
    });

    it("a killed worker's bridge, table and veths are removed by the next runtime that opens", { timeout: 120_000 }, async () => {
      const dead = await crashedWorker();
      try {
        assert.ok(existsSync(`/sys/class/net/${dead.bridge}`), 'control: the killed worker left its bridge');
        assert.ok((await firewallTables()).includes(TABLE_PREFIX + dead.bridge), 'control: and its table');
        // A veth its sandbox's namespace would still hold, named as the dead worker's are.
        await hostCommand('ip', ['link', 'add', `${dead.bridge}-zz`, 'type', 'veth', 'peer', 'name', `${dead.bridge}-zy`]);
        const fx = await SandboxFixture.open('network-reap', { network: settings });
        await fx.teardown();
        assert.deepEqual(linksStartingWith(dead.bridge), [], 'a link of the dead worker is left');
        assert.ok(!(await firewallTables()).includes(TABLE_PREFIX + dead.bridge), 'the dead worker table is left');
      } finally {
        await removeTempDir(dead.dataDir);
      }
    });

    it('the ruleset refuses the special-purpose ranges less the allowed classes, and accepts the allowed CIDRs first', () => {
      const rules = nftRuleset({ table: 'warmbox_t', bridge: 'br0', subnet: '172.29.0.0/24', resolvers: ['10.0.0.53'], allow: WebhookTargetPolicy.parse('link-local,10.1.2.0/24') });
      const set = (name: string) => new RegExp(`set ${name} \\{[^}]*elements = \\{ ([^}]*) \\}`).exec(rules)?.[1]?.split(', ') ?? [];
      assert.ok(set('refused').includes('10.0.0.0/8') && set('refused').includes('100.64.0.0/10') && set('refused').includes('224.0.0.0/4'));
      assert.ok(!set('refused').includes('169.254.0.0/16'), 'an allowed class is not refused');
      assert.deepEqual(set('allowed'), ['10.1.2.0/24']);
      assert.deepEqual(set('resolvers'), ['10.0.0.53']);
      assert.ok(rules.indexOf('@allowed accept') < rules.indexOf('@refused reject'), 'allowed CIDRs are judged before the refused ranges');
    });
  });
}
