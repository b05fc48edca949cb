/**
 * A webhook receiver on 127.0.0.1 and a free port: it records every request (headers, raw body,
 * arrival time) and every TCP connection, and answers as the test says (by request number).
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request was complete. */
  at: number;
}

/** Answers the n-th request (0-based); return without ending `res` to never answer. */
export type Responder = (res: ServerResponse, n: number, req: ReceivedDelivery) => void;

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedDelivery[];
  /** TCP connections accepted, requests or not. */
  connections: number;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number): Promise<ReceivedDelivery[]>;
  close(): Promise<void>;
}

export const answer =
  (status: number, headers: Record<string, string> = {}): Responder =>
  (res) => {
    res.writeHead(status, headers).end();
  };

export async function startReceiver(respond: Responder = answer(200)): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const sockets = new Set<Socket>();
  let waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delivery = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(delivery);
      respond(res, received.length - 1, delivery);
      for (const w of waiters) w();
    });
  });
  const state = { connections: 0 };
  server.on('connection', (s: Socket) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    get connections() {
      return state.connections;
    },
    waitFor(n) {
      return new Promise((resolve) => {
        const check = () => {
          if (received.length < n) return;
          waiters = waiters.filter((w) => w !== check);
          resolve(received);
        };
        waiters.push(check);
        check();
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
