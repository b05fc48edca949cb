/**
 * Thrown by a job's processor when the worker is stopping and the job has not reached a sandbox:
 * it never ran, so the consumer (job-worker.ts) moves it back to the queue instead of recording a
 * result, and it runs once, on another worker or after the restart.
 */
export class JobNotStartedError extends Error {
  override name = 'JobNotStartedError';
}
