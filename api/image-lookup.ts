/** From the `image` a client wrote to a normalized reference the server can run, or the error to answer. */
import { imageRecorded } from '../db/images.js';
import { InvalidReferenceError, normalizeReference } from '../contract/image-reference.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';

export type ImageExists = (reference: string) => boolean | Promise<boolean>;

export function imageInDb(deps: Pick<AppDeps, 'db'>): ImageExists {
  return (reference) => imageRecorded(deps.db, reference);
}

export async function resolveImage(requested: string, imageExists: ImageExists): Promise<string> {
  let reference: string;
  try {
    reference = normalizeReference(requested);
  } catch (err) {
    if (err instanceof InvalidReferenceError) {
      throw new ApiError(400, 'invalid_request', `image: ${err.message}`, { field: 'image' });
    }
    throw err;
  }
  if (!(await imageExists(reference))) {
    throw new ApiError(404, 'image_not_found', `image ${JSON.stringify(requested)} not found (${reference}); pull it first`, {
      image: reference,
    });
  }
  return reference;
}
