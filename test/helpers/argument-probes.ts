/**
 * Runs test/security/programs/arguments.c, which makes system calls with the argument values
 * named in its probes (`socket:40:1:0`), inside a sandbox or, for the controls, on the host.
 * The constants are the kernel's numbers for the values the attacks try.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compileStatic, describeRun, parseErrnos, programFile, type SandboxFixture } from './sandbox-fixture.js';

export const ERRNO = { ENOENT: 2, EPERM: 1, EINVAL: 22, ENOSYS: 38, EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94, EAFNOSUPPORT: 97 } as const;

export const AF = {
  UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10, KEY: 15, NETLINK: 16, PACKET: 17, RDS: 21, CAN: 29, TIPC: 30,
  BLUETOOTH: 31, ALG: 38, VSOCK: 40, SMC: 43, XDP: 44, MCTP: 45,
} as const;
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, RDM: 4, SEQPACKET: 5, DCCP: 6, PACKET: 10, NONBLOCK: 0o4000 } as const;
export const IPPROTO = { IP: 0, TCP: 6, UDP: 17, DCCP: 33, L2TP: 115, SCTP: 132, UDPLITE: 136, SMC: 256, MPTCP: 262 } as const;
export const NETLINK = { ROUTE: 0, SOCK_DIAG: 4, XFRM: 6, AUDIT: 9, NETFILTER: 12, KOBJECT_UEVENT: 15, GENERIC: 16 } as const;

/** A value with junk in the upper 32 bits of its register, which the kernel ignores for an int. */
export function withHighBits(value: number): string {
  return `0x1${value.toString(16).padStart(8, '0')}`;
}

/** A value as a probe writes it: a number, or withHighBits(number). */
type Arg = number | string;

export const socketProbe = (family: Arg, type: Arg, protocol: Arg): string => `socket:${family}:${type}:${protocol}`;
export const socketpairProbe = (family: number, type: number, protocol: number): string => `socketpair:${family}:${type}:${protocol}`;

/** Runs the probes in a job and returns errno per probe (0: the call succeeded). */
export async function jobErrnos(fx: SandboxFixture, probes: readonly string[]): Promise<Map<string, number>> {
  const r = await fx.runJob(['./arguments', ...probes], { files: [await programFile('arguments')], wallTimeMs: 10_000, cpuTimeMs: 5000 });
  assert.equal(r.verdict, 'ok', describeRun(r));
  const errnos = parseErrnos(r.stdout);
  assert.deepEqual([...errnos.keys()], [...probes], `every probe ran: ${describeRun(r)}`);
  return errnos;
}

/**
 * The same probes in a plain host process, outside any sandbox: what a call the sandbox must
 * allow gives on this host (an AF_INET6 socket fails on a host without IPv6 too). Only for
 * probes that are harmless on the host.
 */
export async function hostErrnos(probes: readonly string[]): Promise<Map<string, number>> {
  const r = spawnSync(await compileStatic('arguments'), probes, { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `the probes on the host: ${r.stderr}`);
  return parseErrnos(r.stdout);
}

/** Every probe fails with errno in a job. */
export async function expectRefused(fx: SandboxFixture, probes: readonly string[], errno: number): Promise<void> {
  const got = await jobErrnos(fx, probes);
  assert.deepEqual(Object.fromEntries(got), Object.fromEntries(probes.map((p) => [p, errno])), 'errno per probe (0 = the call succeeded)');
}

/** Every probe gives in a job what it gives on the host, and the host's answers are `onHost`. */
export async function expectAsOnHost(fx: SandboxFixture, probes: readonly string[], onHost: (probe: string, errno: number) => void = () => {}): Promise<void> {
  const host = await hostErrnos(probes);
  for (const p of probes) onHost(p, host.get(p) ?? NaN);
  const got = await jobErrnos(fx, probes);
  assert.deepEqual(Object.fromEntries(got), Object.fromEntries(host), 'errno per probe in the job, against a plain process on the host');
}
