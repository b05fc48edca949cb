/**
 * Judge0's `callback_url`: when a submission finishes, its default attributes (base64-encoded, as
 * Judge0 sends them) are PUT to the URL, tried a few times like Judge0 does. It goes through the
 * webhook sender, so the same address policy holds (Judge0's own CVE-2024-29021 was this feature
 * reaching the host's network): a refused target is never contacted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { CallbackSender } from '../deps.js';

const TRIES = 3;
const RETRY_DELAY_MS = 1000;

export class Judge0Callbacks {
  /** `sender` absent (an API without one, in tests of the API alone): callbacks are logged, not sent. */
  constructor(private readonly sender: CallbackSender | undefined, private readonly log: Logger) {}

  async deliver(url: string, token: string, body: Record<string, unknown>): Promise<void> {
    if (this.sender === undefined) {
      this.log.warn({ token }, 'Judge0 callback not sent: this API has no callback sender');
      return;
    }
    const json = JSON.stringify(body);
    for (let attempt = 1; attempt <= TRIES; attempt++) {
      const sent = await this.sender.send('PUT', url, json, { 'Content-Type': 'application/json' });
      if (sent.error === null) return;
      this.log.warn({ token, attempt, statusCode: sent.statusCode, error: sent.error }, 'Judge0 callback failed');
      if (sent.refused) return;
      if (attempt < TRIES) await sleep(RETRY_DELAY_MS * attempt);
    }
  }
}
