/**
 * WWW-Authenticate challenges (RFC 9110 §11.6.1), as registries send them:
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 *   Basic realm="Registry Realm"
 *
 * A header may hold several challenges separated by commas; parameter values are tokens or quoted
 * strings (with backslash escapes). Scheme names are case-insensitive and returned in lower case.
 */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const PARAM_RE = new RegExp(`^\\s*(${TOKEN})\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|(${TOKEN}))\\s*(?:,|$)`);
const SCHEME_RE = new RegExp(`^\\s*,?\\s*(${TOKEN})(?=\\s|,|$)`);

export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let rest = header ?? '';
  while (rest.trim() !== '') {
    const scheme = SCHEME_RE.exec(rest);
    if (!scheme?.[1]) break; // not a challenge: ignore the remainder rather than guess
    rest = rest.slice(scheme[0].length);
    const challenge: AuthChallenge = { scheme: scheme[1].toLowerCase(), params: {} };
    for (let m = PARAM_RE.exec(rest); m; m = PARAM_RE.exec(rest)) {
      const name = (m[1] ?? '').toLowerCase();
      challenge.params[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      rest = rest.slice(m[0].length);
    }
    challenges.push(challenge);
  }
  return challenges;
}
