/** A build's commands (debootstrap, chroot, unshare): their output logged line by line as it comes. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunLoggedOptions {
  /** The command's whole environment (nothing of the caller's is passed on). */
  env: Record<string, string>;
  /** What to do when the command is not installed, for the error. */
  hint?: string;
  /** How the command is named in its error; default the command line. */
  describe?: string;
  signal?: AbortSignal;
}

/** Runs a command with its output going to log line by line; the last lines go into its error. */
export function runLogged(command: string, args: string[], log: (line: string) => void, opts: RunLoggedOptions): Promise<void> {
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(command, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log(line);
    };
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
    const onAbort = (): void => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`${command} cannot be run${err.code === 'ENOENT' && opts.hint ? ` (${opts.hint})` : ''}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve();
      reject(new Error(`${opts.describe ?? `${command} ${args.join(' ')}`} failed (${sig ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}

/** The PATH a build's commands run with: the system's directories, root's included. */
export const BUILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
