/** Runs the host's network tools (`ip`, `nft`) for runtime/sandbox-network.ts; never through a shell. */
import { execFile } from 'node:child_process';

export class HostCommandError extends Error {
  override name = 'HostCommandError';
}

/** Runs `cmd args`, with `input` on its stdin; resolves with stdout, rejects naming the command and its stderr. */
export function hostCommand(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new HostCommandError(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** `ip -j ARGS` parsed (iproute2's JSON output). */
export async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const out = await hostCommand('ip', ['-j', ...args]);
  return out.trim() ? (JSON.parse(out) as T[]) : [];
}
