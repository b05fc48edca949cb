/**
 * Image references, parsed and normalized the way Docker does it (github.com/distribution/reference):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [ domain "/" ] path-component { "/" path-component }
 *   domain           := host [ ":" port ]        host: domain-name | IPv4 | "[" IPv6 "]"
 *   path-component   := [a-z0-9]+ ( ( [_.] | "__" | "-"* ) [a-z0-9]+ )*
 *   tag              := [\w][\w.-]{0,127}
 *   digest           := algorithm ":" hex        (sha256: 64, sha384: 96, sha512: 128 lowercase hex)
 *
 * The first component is a registry when it contains '.' or ':', is 'localhost', or has an upper-case
 * letter (a repository cannot); otherwise the registry is docker.io, and a one-component name there
 * gets 'library/'. With neither tag nor digest the tag is 'latest'.
 *
 *   busybox                      → docker.io/library/busybox:latest
 *   localhost:5000/team/tool:1   → localhost:5000/team/tool:1
 *   ghcr.io/org/img@sha256:…     → ghcr.io/org/img@sha256:…
 */

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** Registry host, with ':port' when given: 'docker.io', 'ghcr.io', 'localhost:5000'. */
  registry: string;
  /** Repository path inside the registry: 'library/busybox', 'org/img'. */
  repository: string;
  /** Absent only when a digest is given without a tag. */
  tag?: string;
  /** 'sha256:<hex>' (or sha384/sha512) when the reference pins content. */
  digest?: string;
}

export class InvalidReferenceError extends Error {
  readonly code = 'invalid_reference';
  constructor(readonly reference: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[[a-fA-F0-9:]+\\]';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const HEX64_RE = /^[a-f0-9]{64}$/;

/** Parses and normalizes a reference; throws InvalidReferenceError with the reason. */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw new InvalidReferenceError(input, 'empty');

  const { name, tag, digest } = splitTagAndDigest(input);
  const { registry, repository } = splitRegistry(input, name);

  if (registry.length + 1 + repository.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(input, `name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** The full canonical string: 'docker.io/library/busybox:latest', 'r/x:t@sha256:…'. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

export function formatReference(ref: ImageReference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short form people type, as `docker images` shows it: 'busybox:latest', 'ghcr.io/org/img:1'. */
export function familiarReference(input: string): string {
  const ref = parseReference(input);
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DEFAULT_REGISTRY) {
    const official = ref.repository.slice(OFFICIAL_REPOSITORY_PREFIX.length);
    name = ref.repository.startsWith(OFFICIAL_REPOSITORY_PREFIX) && !official.includes('/')
      ? official
      : ref.repository;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

function splitTagAndDigest(input: string): { name: string; tag?: string; digest?: string } {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) {
      throw new InvalidReferenceError(input, `digest ${JSON.stringify(digest)} is not sha256:<64 hex> (or sha384/sha512)`);
    }
  }
  // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      throw new InvalidReferenceError(input, `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  const out: { name: string; tag?: string; digest?: string } = { name: rest };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

function splitRegistry(input: string, name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isRegistry =
    slash !== -1 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);

  let registry = DEFAULT_REGISTRY;
  let repository = name;
  if (isRegistry) {
    registry = first;
    repository = name.slice(slash + 1);
    if (!DOMAIN_RE.test(registry)) {
      throw new InvalidReferenceError(input, `registry ${JSON.stringify(registry)} is not a host name, IP address or [IPv6], with an optional :port`);
    }
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) {
    if (HEX64_RE.test(repository)) {
      throw new InvalidReferenceError(input, 'a repository name cannot be a 64-character hexadecimal string (an image id?)');
    }
    repository = OFFICIAL_REPOSITORY_PREFIX + repository;
  }

  if (repository.length === 0) throw new InvalidReferenceError(input, 'repository name is empty');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      const reason = component !== component.toLowerCase()
        ? 'repository name must be lowercase'
        : `repository path component ${JSON.stringify(component)} must be lowercase letters and digits, separated by '.', '_', '__' or '-'`;
      throw new InvalidReferenceError(input, reason);
    }
  }
  return { registry, repository };
}
