/**
 * The key webhook signatures are made with: WARMBOX_WEBHOOK_SECRET, or else one generated on first
 * start and kept in WARMBOX_DATA/webhook-secret (mode 0600, read back on every later start, so
 * receivers keep verifying across restarts). Processes on several hosts must share it: set the
 * variable there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export const WEBHOOK_SECRET_FILE = 'webhook-secret';

export function webhookSecret(configured: string | undefined, dataDir: string, log: Logger): string {
  if (configured !== undefined) return configured;
  const file = join(dataDir, WEBHOOK_SECRET_FILE);
  if (!existsSync(file)) generate(file, log);
  if ((statSync(file).mode & 0o077) !== 0) log.warn({ file }, 'the webhook secret file is readable by others than its owner: chmod 600 it');
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 16) throw new Error(`${file} holds no usable webhook secret (fewer than 16 characters): remove it to have one generated`);
  return secret;
}

/**
 * Written whole under a name of this process's, then linked into place: link() fails if the file
 * exists, so two processes starting together agree on one secret, and none reads a half-written one.
 */
function generate(file: string, log: Logger): void {
  const own = `${file}.${process.pid}`;
  writeFileSync(own, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  try {
    linkSync(own, file);
    log.info({ file }, 'generated the webhook signing secret (set WARMBOX_WEBHOOK_SECRET to choose it)');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(own, { force: true });
  }
}
