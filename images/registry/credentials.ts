/**
 * Registry credentials from a Docker client config file (~/.docker/config.json):
 *
 *   { "auths": { "registry.example:5000": { "auth": base64("user:password") },
 *                "https://index.docker.io/v1/": { "username": "u", "password": "p" } } }
 *
 * Keys may be a bare host[:port] or a URL (Docker writes Docker Hub as https://index.docker.io/v1/);
 * they are matched by host[:port], and every Docker Hub alias means docker.io. `credsStore` and
 * `credHelpers` (external helper programs) and `identitytoken` (OAuth refresh tokens) are not
 * supported: such entries are ignored, and the registry is then spoken to anonymously.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ImagePullError } from './image-pull-error.js';

export interface Credentials {
  username: string;
  password: string;
}

const DOCKER_HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

const configSchema = z.object({
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
      }).loose(),
    )
    .optional(),
}).loose();

export class CredentialStore {
  readonly #byHost: Map<string, Credentials>;

  constructor(byHost: Map<string, Credentials> = new Map()) {
    this.#byHost = byHost;
  }

  /** Reads a config file; a missing file means no credentials. */
  static async load(path: string | undefined): Promise<CredentialStore> {
    if (path === undefined) return new CredentialStore();
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CredentialStore();
      throw new ImagePullError('invalid_options', `credentials file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    return CredentialStore.parse(text, path);
  }

  static parse(text: string, source = 'credentials'): CredentialStore {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ImagePullError('invalid_options', `${source} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const parsed = configSchema.safeParse(doc);
    if (!parsed.success) {
      throw new ImagePullError('invalid_options', `${source} is not a Docker config file: ${z.prettifyError(parsed.error)}`);
    }
    const byHost = new Map<string, Credentials>();
    for (const [key, entry] of Object.entries(parsed.data.auths ?? {})) {
      const creds = entry.auth !== undefined && entry.auth !== '' ? decodeAuth(entry.auth, key, source)
        : entry.username !== undefined && entry.password !== undefined ? { username: entry.username, password: entry.password }
        : undefined;
      if (creds) byHost.set(credentialHost(key), creds);
    }
    return new CredentialStore(byHost);
  }

  /** Credentials for a registry host[:port] ('docker.io' and its aliases are one). */
  lookup(host: string): Credentials | undefined {
    return this.#byHost.get(credentialHost(host));
  }
}

/** The key a registry is filed under: host[:port] in lower case, Docker Hub's aliases as docker.io. */
export function credentialHost(keyOrHost: string): string {
  let host = keyOrHost.trim().toLowerCase();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  host = host.split('/')[0] ?? host;
  return DOCKER_HUB_ALIASES.includes(host) ? 'docker.io' : host;
}

function decodeAuth(auth: string, key: string, source: string): Credentials {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new ImagePullError('invalid_options', `${source}: auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`);
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
