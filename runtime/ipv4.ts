/** IPv4 addresses and CIDRs as 32-bit numbers: enough arithmetic to choose and carve a subnet. */

export interface Cidr4 {
  /** The network address, as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function ipv4ToInt(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`${JSON.stringify(address)} is not an IPv4 address`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/n` (a bare address is a /32); the base is masked to the prefix. */
export function parseCidr4(text: string): Cidr4 {
  const [address = '', prefixText = '32'] = text.split('/');
  const prefix = Number(prefixText);
  if (!/^\d{1,2}$/.test(prefixText) || prefix > 32) throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR such as 172.29.0.0/16`);
  return { base: (ipv4ToInt(address) & maskOf(prefix)) >>> 0, prefix };
}

export function formatCidr4(c: Cidr4): string {
  return `${intToIpv4(c.base)}/${c.prefix}`;
}

export function cidrsOverlap(a: Cidr4, b: Cidr4): boolean {
  const mask = maskOf(Math.min(a.prefix, b.prefix));
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** The subnets of `prefix` bits inside `range`, in order. */
export function* subnetsOf(range: Cidr4, prefix: number): Generator<Cidr4> {
  const count = 2 ** (prefix - range.prefix);
  for (let i = 0; i < count; i++) yield { base: (range.base + i * 2 ** (32 - prefix)) >>> 0, prefix };
}
