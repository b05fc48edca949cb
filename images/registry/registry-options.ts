/**
 * Registry options, their defaults, and where a registry's API is reached: the one place that turns
 * a reference's registry name into base URLs (mirrors first) and decides between https and http.
 */
import { ociArchitecture } from '../store/oci-image.js';
import { ImagePullError } from './image-pull-error.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface RegistryOptions {
  /**
   * Where references without a registry ('busybox', i.e. docker.io ones) are fetched from. Default
   * 'docker.io', whose API host is registry-1.docker.io. Another host serves the same repository names
   * ('library/busybox'); the image is still stored under its docker.io name, so 'busybox' resolves the
   * same whichever registry it came from.
   */
  defaultRegistry?: string;
  /** Registry host → mirror base URLs ('http://10.0.0.5:5000'), tried in order before the registry. */
  mirrors?: Record<string, string[]>;
  /**
   * Hosts ('host' for any port, or 'host:port') spoken to over plain http. Loopback hosts (localhost,
   * 127.0.0.1, [::1]) always are, as Docker treats them.
   */
  insecure?: string[];
  /** A Docker config.json with `auths`; see credentials.ts. A missing file means anonymous. */
  credentialsFile?: string;
  /** The platform picked from multi-platform images. Default: linux and this host's architecture. */
  platform?: Platform;
}

/** One place to send registry API requests to: '<url>/v2/…'. */
export interface Endpoint {
  /** Base URL without a trailing slash: 'https://registry-1.docker.io', 'http://127.0.0.1:5000/prefix'. */
  url: string;
  /** host[:port] whose credentials apply. */
  host: string;
  mirror: boolean;
}

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** This machine's platform as OCI names it; arm64 is variant v8 (as containerd normalizes it). */
export function defaultPlatform(): Platform {
  const architecture = ociArchitecture();
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

/** The endpoints for a registry named in a reference, mirrors first. */
export function endpointsFor(registry: string, opts: RegistryOptions): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const base of opts.mirrors?.[registry] ?? []) {
    let url: URL;
    try {
      url = new URL(base);
    } catch (err) {
      throw new ImagePullError('invalid_options', `mirror ${JSON.stringify(base)} of ${registry} is not a URL`, { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImagePullError('invalid_options', `mirror ${base} of ${registry} must be an http or https URL`);
    }
    endpoints.push({ url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, host: url.host, mirror: true });
  }
  const host = registry === DOCKER_HUB ? apiHostOf(opts.defaultRegistry ?? DOCKER_HUB) : registry;
  const scheme = isInsecureHost(host, opts.insecure ?? []) ? 'http' : 'https';
  const credentialHost = registry === DOCKER_HUB ? (opts.defaultRegistry ?? DOCKER_HUB) : registry;
  endpoints.push({ url: `${scheme}://${host}`, host: credentialHost, mirror: false });
  return endpoints;
}

/** docker.io is served from registry-1.docker.io; every other registry from its own name. */
export function apiHostOf(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_API_HOST : registry;
}

/** host is 'name' or 'name:port'; an entry without a port matches every port of its name. */
export function isInsecureHost(host: string, insecure: readonly string[]): boolean {
  const name = hostName(host);
  for (const entry of [...LOOPBACK_HOSTS, ...insecure]) {
    const e = entry.trim().toLowerCase();
    if (e === host.toLowerCase() || (hostName(e) === e && e === name)) return true;
  }
  return false;
}

function hostName(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}
