/**
 * Which addresses a webhook may be delivered to (Judge0's CVE-2024-29021: a service that POSTs to
 * any URL a client names is an SSRF gun pointed at its own network). Refused unless allowed:
 * loopback, private (RFC 1918, ULA fc00::/7, site-local), link-local (169.254/16 with the cloud
 * metadata address 169.254.169.254, fe80::/10), CGNAT 100.64/10, multicast, unspecified and every
 * other special-purpose range (IANA's registries). IPv6 forms that carry an IPv4 address
 * (::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address.
 *
 * The API checks literal addresses at submission; the worker checks every address it is about to
 * connect to, after DNS resolution (worker/webhook-sender.ts): that check is the one that holds.
 */
import { BlockList, isIP } from 'node:net';

/** Names WARMBOX_WEBHOOK_ALLOW takes besides CIDRs. */
export const ALLOWABLE_CLASSES = ['loopback', 'private', 'link-local', 'cgnat'] as const;
export type AllowableClass = (typeof ALLOWABLE_CLASSES)[number];
export type AddressClass = AllowableClass | 'multicast' | 'unspecified' | 'reserved';

export type Family = 'ipv4' | 'ipv6';
type Range = readonly [address: string, prefix: number, family: Family, cls: AddressClass];

const RANGES: readonly Range[] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'cgnat'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'reserved'],
  ['192.88.99.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['198.51.100.0', 24, 'ipv4', 'reserved'],
  ['203.0.113.0', 24, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // IPv4-compatible (deprecated) addresses, and what is left of ::/8 after the two above.
  ['::', 8, 'ipv6', 'reserved'],
  ['64:ff9b:1::', 48, 'ipv6', 'reserved'],
  ['100::', 64, 'ipv6', 'reserved'],
  // IETF protocol assignments: Teredo (which hides an IPv4 address), benchmarking, ORCHID, documentation.
  ['2001::', 23, 'ipv6', 'reserved'],
  ['2001:db8::', 32, 'ipv6', 'reserved'],
  ['3fff::', 20, 'ipv6', 'reserved'],
  ['5f00::', 16, 'ipv6', 'reserved'],
  ['fc00::', 7, 'ipv6', 'private'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'private'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

function blockListOf(ranges: readonly Range[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

/**
 * One BlockList per family and class. Families are kept apart: a BlockList matches an IPv4 address
 * against IPv6 rules too (as ::ffff:a.b.c.d), which would put every IPv4 address in ::/8.
 */
function byClass(family: Family): Map<AddressClass, BlockList> {
  const ranges = RANGES.filter((r) => r[2] === family);
  return new Map([...new Set(ranges.map((r) => r[3]))].map((cls) => [cls, blockListOf(ranges.filter((r) => r[3] === cls))]));
}
const BY_FAMILY_AND_CLASS: Record<Family, Map<AddressClass, BlockList>> = { ipv4: byClass('ipv4'), ipv6: byClass('ipv6') };

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 well-known prefix, 6to4), if any. */
export function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const w = ipv6Words(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && w[5] === 0xffff) return v4(w[6]!, w[7]!);
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6)) return v4(w[6]!, w[7]!);
  if (w[0] === 0x2002) return v4(w[1]!, w[2]!);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (valid per isIP), `::` and a dotted-quad tail expanded. */
function ipv6Words(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** What kind of special-purpose address this is; undefined for an ordinary public one. */
export function classifyAddress(address: string): AddressClass | undefined {
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return classifyAddress(v4);
  const family: Family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  for (const [cls, list] of BY_FAMILY_AND_CLASS[family]) if (list.check(address.split('%')[0]!, family)) return cls;
  return undefined;
}

/**
 * The special-purpose ranges of one family, as `address/prefix` with their class: what a sandbox
 * with network `bridge` may not reach either (runtime/firewall-nft.ts builds its refused set from
 * this list, so webhooks and sandboxes refuse the same ranges).
 */
export function specialPurposeRanges(family: Family): { cidr: string; class: AddressClass }[] {
  return RANGES.filter((r) => r[2] === family).map(([address, prefix, , cls]) => ({ cidr: `${address}/${prefix}`, class: cls }));
}

/** A target refused: the address, and why. */
export interface Refusal {
  address: string;
  class: AddressClass;
}

export class WebhookTargetPolicy {
  private readonly allowedClasses: ReadonlySet<AddressClass>;
  /** Per family, as in BY_FAMILY_AND_CLASS. */
  private readonly allowedCidrs: Record<Family, BlockList>;
  private readonly allowedCidrList: readonly string[];

  constructor(allow: { classes?: readonly AllowableClass[]; cidrs?: readonly string[] } = {}) {
    this.allowedClasses = new Set(allow.classes ?? []);
    this.allowedCidrList = [...(allow.cidrs ?? [])];
    this.allowedCidrs = { ipv4: new BlockList(), ipv6: new BlockList() };
    for (const cidr of allow.cidrs ?? []) {
      const { address, prefix, family } = parseCidr(cidr);
      this.allowedCidrs[family].addSubnet(address, prefix, family);
    }
  }

  /** Parses WARMBOX_WEBHOOK_ALLOW: comma-separated class names and CIDRs (throws on anything else). */
  static parse(allow: string): WebhookTargetPolicy {
    const items = allow.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const classes = items.filter((s): s is AllowableClass => (ALLOWABLE_CLASSES as readonly string[]).includes(s));
    const cidrs = items.filter((s) => !classes.includes(s as AllowableClass));
    for (const cidr of cidrs) parseCidr(cidr);
    return new WebhookTargetPolicy({ classes, cidrs });
  }

  /** What this policy allows after all: class names and CIDRs, as given. */
  get allowed(): { classes: readonly AddressClass[]; cidrs: readonly string[] } {
    return { classes: [...this.allowedClasses], cidrs: this.allowedCidrList };
  }

  /** Why a webhook may not connect to this IP address; undefined when it may. */
  refusal(address: string): Refusal | undefined {
    const plain = address.split('%')[0]!;
    const normalized = embeddedIpv4(plain) ?? plain;
    const cls = classifyAddress(normalized);
    if (cls === undefined) return undefined;
    if (this.allowedClasses.has(cls)) return undefined;
    const family: Family = isIP(normalized) === 4 ? 'ipv4' : 'ipv6';
    if (this.allowedCidrs[family].check(normalized, family) || (plain !== normalized && this.allowedCidrs.ipv6.check(plain, 'ipv6'))) return undefined;
    return { address, class: cls };
  }
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). */
function parseCidr(cidr: string): { address: string; prefix: number; family: Family } {
  const [address = '', prefixText] = cidr.split('/');
  const version = isIP(address);
  const max = version === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new Error(`${JSON.stringify(cidr)} is neither one of ${ALLOWABLE_CLASSES.join(', ')} nor a CIDR such as 10.0.0.0/8 or fd00::/8`);
  }
  return { address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' };
}

/** How the API and the sender say a refusal, in the error a client or the delivery record shows. */
export function refusalMessage(r: Refusal): string {
  return `${r.address} is ${r.class}: webhooks to it are refused unless WARMBOX_WEBHOOK_ALLOW allows it`;
}
