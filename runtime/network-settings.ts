/**
 * How a worker's sandboxes with network `bridge` reach out (README "Network"): the names of what
 * warmbox adds to the host, the range its subnet comes from, the destinations allowed after all,
 * the resolvers and the uplinks. The server reads them from WARMBOX_NETWORK_* (server/network-config.ts).
 */
import { WebhookTargetPolicy } from '../contract/webhook-target-policy.js';

export interface NetworkSettings {
  /**
   * Every name warmbox gives the host starts with it: the worker's bridge `<prefix><pid in base 36>`,
   * its sandboxes' veths `<bridge>-<n>`, its nftables table `warmbox_<bridge>`. The pid keeps two
   * workers (or two test runs) apart; the prefix tells warmbox's leftovers from anything else's.
   */
  namePrefix: string;
  /** The range (IPv4 CIDR, /8 to /24) each worker's /24 is chosen from: the first one no route of the host overlaps. */
  pool: string;
  /** Special-purpose ranges a sandbox may reach after all (the WARMBOX_WEBHOOK_ALLOW syntax: class names and CIDRs). */
  allow: WebhookTargetPolicy;
  /** Resolvers written to every sandbox's /etc/resolv.conf; absent: the host's (runtime/host-resolvers.ts). */
  dns?: readonly string[];
  /**
   * Interfaces the replies come in on, whose IPv4 forwarding warmbox turns on (and back off when the
   * last warmbox bridge goes); absent: the devices of the host's IPv4 default routes.
   */
  uplinks?: readonly string[];
}

export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = {
  namePrefix: 'wbx',
  pool: '172.29.0.0/16',
  allow: new WebhookTargetPolicy(),
};

/** Each worker's subnet: a /24, 253 sandboxes (.1 is the bridge). */
export const NETWORK_SUBNET_PREFIX = 24;

/** 1 to 4 lowercase letters: with a pid in base 36 (≤ 5) and `-<n>` (≤ 6) a veth's name fits IFNAMSIZ (15). */
export const NAME_PREFIX_PATTERN = /^[a-z]{1,4}$/;
