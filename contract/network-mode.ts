/**
 * A job's network (README "Network"). `none`: its own network namespace with only loopback (the
 * default). `bridge`: Docker's name for the same mechanism — a veth into a host bridge, NAT out of
 * the host — with outbound IPv4 only: no host address, no other sandbox, no private, link-local,
 * metadata or other special-purpose range (unless the operator allows a range), no inbound.
 */
export const NETWORK_MODES = ['none', 'bridge'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
