/**
 * Job ids: ULIDs (26 characters of Crockford base32: 48 bits of milliseconds, then 80 random bits),
 * so ids sort by creation time, as text, in the db and in listings.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newJobId(now: number = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  let random = '';
  for (const byte of randomBytes(16)) random += ALPHABET[byte % 32];
  return time + random;
}

export const JOB_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
