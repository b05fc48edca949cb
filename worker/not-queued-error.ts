/**
 * A worker took a job whose db row is no longer `queued`: another copy of it was claimed first
 * (a re-queued job whose old copy turned up), or it was finished meanwhile (cancelled, or `lost`
 * by a reconcile sweep). It is not run: a job runs at most once.
 */
export class NotQueuedError extends Error {
  override name = 'NotQueuedError';

  constructor(readonly jobId: string) {
    super(`job ${jobId} is no longer queued in the db (another run claimed it, or it is finished): not run again`);
  }
}
