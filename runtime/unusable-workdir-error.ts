/**
 * No sandbox of an image can start a job in its working directory: the image asked for something no
 * job can have (contract/working-dir.ts says what), or the launcher could not make it. The image's doing,
 * not warmbox's: the worker ends its jobs with exit 126 and this message on stderr, as `docker run`
 * and a shell do for a command that cannot be started.
 */
import { SandboxError } from './sandbox-error.js';

export class UnusableWorkdirError extends SandboxError {
  override name = 'UnusableWorkdirError';
}
