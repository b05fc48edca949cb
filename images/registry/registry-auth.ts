/**
 * Answers registry auth challenges (distribution spec; Docker's token authentication):
 *
 * - `Bearer realm=…,service=…,scope=…`: GET realm?service=…&scope=… — with HTTP basic credentials when
 *   the credentials file has some for the registry, anonymously otherwise — gives a token (JSON
 *   `token` or `access_token`, valid `expires_in` seconds, 60 by default) sent as `Bearer <token>`.
 * - `Basic realm=…`: the credentials themselves, as `Basic base64(user:password)`.
 *
 * What a challenge earned is cached per endpoint and scope, so that only the first request of a pull
 * meets the 401 and every blob after it is authorized at once.
 */
import type { Credentials, CredentialStore } from './credentials.js';
import { ImagePullError } from './image-pull-error.js';
import { discard, errorFromResponse, httpGet, readBodyLimited, redact } from './registry-http.js';
import type { Endpoint } from './registry-options.js';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js';

const DEFAULT_TOKEN_LIFETIME_S = 60;
/** Renew a token this long before the registry would refuse it. */
const EXPIRY_MARGIN_MS = 10_000;
const TOKEN_BODY_LIMIT = 1024 * 1024;

interface CachedAuthorization {
  header: string;
  expiresAt: number;
}

export class RegistryAuth {
  readonly #cache = new Map<string, CachedAuthorization>();

  constructor(private readonly credentials: CredentialStore) {}

  /** The Authorization header already earned for this endpoint and scope, if still valid. */
  cached(endpoint: Endpoint, scope: string): string | undefined {
    const hit = this.#cache.get(cacheKey(endpoint, scope));
    if (hit && hit.expiresAt > Date.now()) return hit.header;
    return undefined;
  }

  /**
   * The Authorization header that answers a 401's WWW-Authenticate for scope
   * ('repository:library/busybox:pull'); throws 'unauthorized' when it cannot be answered.
   */
  async answer(endpoint: Endpoint, wwwAuthenticate: string | null, scope: string, signal?: AbortSignal): Promise<string> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate);
    const creds = this.credentials.lookup(endpoint.host);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    let authorization: CachedAuthorization;
    if (bearer) {
      authorization = await this.#fetchToken(endpoint, bearer, scope, creds, signal);
    } else if (basic) {
      if (!creds) {
        throw new ImagePullError('unauthorized', `${endpoint.url} asks for a user name and password (Basic realm ${JSON.stringify(basic.params.realm ?? '')}) and the credentials file has none for ${endpoint.host}`);
      }
      authorization = { header: basicAuthorization(creds), expiresAt: Number.POSITIVE_INFINITY };
    } else {
      throw new ImagePullError('unauthorized', `${endpoint.url} answered 401 with no challenge warmbox can answer (WWW-Authenticate: ${JSON.stringify(wwwAuthenticate ?? '')})`);
    }
    this.#cache.set(cacheKey(endpoint, scope), authorization);
    return authorization.header;
  }

  /** Drops what was cached for the endpoint and scope (the registry refused it after all). */
  forget(endpoint: Endpoint, scope: string): void {
    this.#cache.delete(cacheKey(endpoint, scope));
  }

  async #fetchToken(
    endpoint: Endpoint,
    challenge: AuthChallenge,
    scope: string,
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CachedAuthorization> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch (err) {
      throw new ImagePullError('registry_error', `${endpoint.url} asks for a bearer token from realm ${JSON.stringify(realm ?? '')}, which is not a URL`, { cause: err });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ImagePullError('registry_error', `${endpoint.url}: token realm ${realm} is not an http(s) URL`);
    }
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    url.searchParams.append('scope', scope);
    if (challenge.params.scope !== undefined && challenge.params.scope !== scope) url.searchParams.append('scope', challenge.params.scope);
    const headers: Record<string, string> = {};
    if (creds) {
      headers.authorization = basicAuthorization(creds);
      url.searchParams.set('account', creds.username);
    }

    const res = await httpGet(url.href, { headers, signal });
    if (!res.ok) {
      const err = await errorFromResponse(res, `token service ${redact(url.href)}`);
      if (err.code === 'unauthorized') {
        err.message += creds ? ` — the credentials for ${endpoint.host} were refused` : ` — ${endpoint.host} needs credentials`;
      }
      throw err;
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readBodyLimited(res, TOKEN_BODY_LIMIT)).toString('utf8')) as typeof body;
    } catch (err) {
      await discard(res);
      throw new ImagePullError('registry_error', `token service ${redact(url.href)} answered something that is not JSON`, { cause: err });
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token
      : typeof body.access_token === 'string' && body.access_token !== '' ? body.access_token : undefined;
    if (token === undefined) throw new ImagePullError('registry_error', `token service ${redact(url.href)} answered without a token`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + lifetime * 1000 - EXPIRY_MARGIN_MS };
  }
}

function basicAuthorization(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function cacheKey(endpoint: Endpoint, scope: string): string {
  return `${endpoint.url} ${scope}`;
}
