/**
 * Which webhook targets are refused (Judge0's CVE-2024-29021). Pure address arithmetic: no address
 * here is ever contacted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAddress, embeddedIpv4, WebhookTargetPolicy } from '../../contract/webhook-target-policy.js';

const REFUSED: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['255.255.255.255', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001::1', 'reserved'], // Teredo
  // IPv6 forms that carry an IPv4 address are judged by it.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:a9fe:a9fe', 'link-local'],
  ['::ffff:10.0.0.1', 'private'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a9fe:a9fe::', 'link-local'],
  ['::127.0.0.1', 'reserved'], // IPv4-compatible, deprecated
];

const PUBLIC = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.253.255.255', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];

describe('webhook target policy', () => {
  it('refuses every special-purpose range by default, naming the class', () => {
    const policy = new WebhookTargetPolicy();
    for (const [address, cls] of REFUSED) {
      assert.equal(classifyAddress(address), cls, address);
      assert.deepEqual(policy.refusal(address), { address, class: cls }, address);
    }
  });

  it('allows ordinary public addresses', () => {
    const policy = new WebhookTargetPolicy();
    for (const address of PUBLIC) assert.equal(policy.refusal(address), undefined, address);
  });

  it('finds the IPv4 address inside mapped, NAT64 and 6to4 addresses', () => {
    assert.equal(embeddedIpv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIpv4('0:0:0:0:0:ffff:169.254.169.254'), '169.254.169.254');
    assert.equal(embeddedIpv4('64:ff9b::a9fe:a9fe'), '169.254.169.254');
    assert.equal(embeddedIpv4('2002:0a00:0001::'), '10.0.0.1');
    assert.equal(embeddedIpv4('2606:4700::1111'), undefined);
    assert.equal(embeddedIpv4('127.0.0.1'), undefined);
  });

  it('WARMBOX_WEBHOOK_ALLOW lets named classes and CIDRs through, and nothing else', () => {
    const policy = WebhookTargetPolicy.parse('loopback, 10.20.0.0/16,fd00::/8');
    assert.equal(policy.refusal('127.0.0.1'), undefined);
    assert.equal(policy.refusal('::1'), undefined);
    assert.equal(policy.refusal('::ffff:127.0.0.1'), undefined, 'a mapped loopback address is loopback');
    assert.equal(policy.refusal('10.20.3.4'), undefined);
    assert.equal(policy.refusal('fd00::5'), undefined);
    assert.equal(policy.refusal('10.21.0.1')?.class, 'private');
    assert.equal(policy.refusal('169.254.169.254')?.class, 'link-local');
    assert.equal(policy.refusal('192.168.0.1')?.class, 'private');
  });

  it('refuses an allowance it cannot read, saying what it takes', () => {
    assert.throws(() => WebhookTargetPolicy.parse('loopback,everything'), /"everything" is neither one of loopback, private, link-local, cgnat nor a CIDR/);
    assert.throws(() => WebhookTargetPolicy.parse('10.0.0.0/33'), /CIDR/);
    assert.throws(() => WebhookTargetPolicy.parse('10.0.0.0/x'), /CIDR/);
  });
});
