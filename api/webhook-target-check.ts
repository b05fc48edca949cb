/**
 * The submission-time check of a job's webhook URL: a literal address (however it is spelled:
 * WHATWG URL parsing turns `127.1`, `2130706433` and `0x7f.1` into 127.0.0.1) or a `localhost`
 * name in a refused range is a 422 at once. It is a courtesy to the client: a name can resolve to
 * anything later, so the check that holds is made when the worker connects (worker/webhook-sender.ts).
 */
import { isIP } from 'node:net';
import { refusalMessage, WebhookTargetPolicy } from '../contract/webhook-target-policy.js';
import { ApiError } from './errors.js';

const DEFAULT_POLICY = new WebhookTargetPolicy();

export function checkWebhookTarget(url: string | undefined, policy: WebhookTargetPolicy = DEFAULT_POLICY): void {
  if (url === undefined) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // RFC 6761: localhost and its subdomains are loopback, whatever a resolver says.
  const name = host.replace(/\.$/, '');
  const address = isIP(host) !== 0 ? host : name === 'localhost' || name.endsWith('.localhost') ? '127.0.0.1' : undefined;
  const refusal = address === undefined ? undefined : policy.refusal(address);
  if (refusal === undefined) return;
  const message = `webhook.url: ${refusalMessage({ ...refusal, address: host })}`;
  throw new ApiError(422, 'webhook_target_refused', message, { field: 'webhook.url' });
}
