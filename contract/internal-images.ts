/**
 * Images warmbox makes for itself (a judge build's output on its image, worker/build-layer.ts):
 * under a registry name no one can pull from. Only warmbox's own submissions may run them; a
 * client naming one is refused, so no tenant can run another tenant's build output.
 */
export const INTERNAL_IMAGE_PREFIX = 'warmbox.internal/';

export function isInternalImage(reference: string): boolean {
  return reference.startsWith(INTERNAL_IMAGE_PREFIX);
}
