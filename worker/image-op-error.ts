/** A failure of an image operation that the worker itself decides (not the runtime's errors). */
export type ImageOpFailureCode =
  | 'image_not_found' // remove: the reference is neither in this worker's store nor in the db
  | 'image_in_use'    // remove: jobs of the image are queued or running (retry with force)
  | 'cancelled'       // the worker stopped while performing it
  | 'internal_error'; // this worker cannot perform it (it has no blob store for an import)

export class ImageOpFailure extends Error {
  constructor(readonly code: ImageOpFailureCode, message: string) {
    super(message);
    this.name = 'ImageOpFailure';
  }
}
