/**
 * Picks one platform's manifest from an image index / manifest list (image-spec image-index.md), the
 * way containerd's platform matcher does for a single wanted platform: os and architecture must be
 * equal; the variant, when wanted, is preferred exactly, then an entry that names none (arm64 images
 * usually omit 'v8'); with no variant wanted, an entry without one is preferred. Attestation manifests
 * (BuildKit's provenance, platform unknown/unknown) never match.
 */
import type { OciIndex, OciIndexDescriptor } from '../store/oci-image.js';
import { isImageManifestMediaType, isIndexMediaType } from '../store/oci-image.js';
import type { Platform } from './registry-options.js';

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

export class NoMatchingPlatform extends Error {
  constructor(readonly available: string[], wanted: Platform) {
    super(`no manifest for ${formatPlatform(wanted)}; the image has ${available.length > 0 ? available.join(', ') : 'no platform information'}`);
    this.name = 'NoMatchingPlatform';
  }
}

export function formatPlatform(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/** The descriptor of the manifest (or nested index) for the platform; throws NoMatchingPlatform. */
export function selectPlatform(index: OciIndex, wanted: Platform): OciIndexDescriptor {
  const usable = index.manifests.filter((m) => !isAttestation(m) && (isImageManifestMediaType(m.mediaType) || isIndexMediaType(m.mediaType)));
  const withPlatform = usable.filter((m) => m.platform !== undefined);
  if (withPlatform.length === 0 && usable.length === 1 && usable[0]) return usable[0];

  const arch = normalizeArch(wanted.architecture);
  const candidates = withPlatform.filter((m) => m.platform?.os === wanted.os && normalizeArch(m.platform.architecture) === arch);
  const exact = candidates.find((m) => (m.platform?.variant ?? '') === (wanted.variant ?? ''));
  const unnamed = candidates.find((m) => m.platform?.variant === undefined || m.platform.variant === '');
  const chosen = exact ?? unnamed ?? (wanted.variant === undefined ? candidates[0] : undefined);
  if (chosen) return chosen;
  throw new NoMatchingPlatform(withPlatform.map((m) => formatPlatform(m.platform ?? { os: '?', architecture: '?' })), wanted);
}

function isAttestation(m: OciIndexDescriptor): boolean {
  return m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
    || (m.platform?.os === 'unknown' && m.platform.architecture === 'unknown');
}

function normalizeArch(arch: string): string {
  return ARCH_ALIASES[arch] ?? arch;
}
