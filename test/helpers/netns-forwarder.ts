/**
 * Run inside a test network namespace by netns-lan.ts: listens on a unix socket (the filesystem is
 * shared with the test process) and connects each client to host:port in this namespace. Prints
 * `ready` once listening. Without its three arguments (node --test runs every file of test/) it
 * does nothing.
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

const [socketPath, host, port] = process.argv.slice(2);
if (socketPath !== undefined && host !== undefined && port !== undefined) {
  rmSync(socketPath, { force: true });
  const server = createServer((client) => {
    const upstream = createConnection(Number(port), host);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(socketPath, () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => process.exit(0));
}
