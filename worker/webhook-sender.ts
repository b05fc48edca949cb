/**
 * One HTTP POST of a webhook delivery, made so that it cannot be turned against warmbox's own
 * network (README "Webhooks", contract/webhook-target-policy.ts):
 * - the address checked is the one connected to: names are resolved by a `lookup` of our own that
 *   drops refused addresses, so a DNS answer that changes between a check and the connect (DNS
 *   rebinding) cannot reach them; a literal address is checked before connecting; and the socket's
 *   remote address is checked once more when it connects;
 * - redirects are not followed (a 3xx is a failed attempt), so a public URL cannot bounce it inside;
 * - a connect timeout and a total timeout bound every attempt; the response's status is what
 *   counts, its body is never read (the connection is closed once the status and headers are in).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { refusalMessage, type Refusal, type WebhookTargetPolicy } from '../contract/webhook-target-policy.js';

export interface WebhookSenderSettings {
  policy: WebhookTargetPolicy;
  /** From the start of the attempt until the TCP connection is up, in milliseconds. */
  connectTimeoutMs: number;
  /** From the start of the attempt until the response's status and headers, in milliseconds. */
  timeoutMs: number;
}

export interface SendResult {
  /** null when no response came. */
  statusCode: number | null;
  latencyMs: number;
  /** null when the receiver answered 2xx. */
  error: string | null;
  /** The target is refused by the policy: trying again cannot help. */
  refused: boolean;
}

class TargetRefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusalMessage(refusal));
  }
}

/** dns.lookup, keeping only the addresses the policy allows; none left: a TargetRefusedError. */
function guardedLookup(policy: WebhookTargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => policy.refusal(a.address) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0];
        const refused = first === undefined ? new Error(`${hostname} resolved to no address`) : new TargetRefusedError(policy.refusal(first.address)!);
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export class WebhookSender {
  private readonly lookup: LookupFunction;

  constructor(private readonly settings: WebhookSenderSettings) {
    this.lookup = guardedLookup(settings.policy);
  }

  post(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    return this.send('POST', url, body, headers);
  }

  /** The same guarded request with another method (Judge0's callbacks are PUTs). */
  send(method: 'POST' | 'PUT', url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    const target = new URL(url);
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    const refused = isIP(literal) === 0 ? undefined : this.settings.policy.refusal(literal);
    if (refused !== undefined) return Promise.resolve({ statusCode: null, latencyMs: 0, error: refusalMessage(refused), refused: true });
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      let settled = false;
      const end = (statusCode: number | null, error: string | null, isRefusal = false) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        req.destroy();
        resolve({ statusCode, latencyMs: Math.round(performance.now() - started), error, refused: isRefusal });
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req: ClientRequest = send(target, {
        method,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A fresh connection per attempt: a pooled socket would skip the connect-time check.
        agent: false,
        lookup: this.lookup,
      });
      timers.push(setTimeout(() => end(null, `timed out after ${this.settings.timeoutMs} ms without a response`), this.settings.timeoutMs));
      req.on('socket', (socket: Socket) => {
        const connectTimer = setTimeout(() => end(null, `connecting timed out after ${this.settings.connectTimeoutMs} ms`), this.settings.connectTimeoutMs);
        timers.push(connectTimer);
        socket.once('connect', () => {
          clearTimeout(connectTimer);
          const late = socket.remoteAddress === undefined ? undefined : this.settings.policy.refusal(socket.remoteAddress);
          if (late !== undefined) end(null, refusalMessage(late), true);
        });
      });
      req.on('response', (res: IncomingMessage) => {
        res.on('error', () => undefined);
        const status = res.statusCode ?? 0;
        end(status, problemOf(status, res.headers.location));
      });
      req.on('error', (err) => (err instanceof TargetRefusedError ? end(null, err.message, true) : end(null, describe(err))));
      req.end(body);
    });
  }
}

function problemOf(status: number, location: string | undefined): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `the receiver answered ${status} (redirect${location ? ` to ${location.slice(0, 200)}` : ''}): redirects are not followed`;
  return `the receiver answered ${status}`;
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
