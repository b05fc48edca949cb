/**
 * A registry with no repositories, on loopback. The distribution spec leaves it one answer: `/v2/`
 * is 200, every manifest or blob is 404 NAME_UNKNOWN. Tests point WARMBOX_REGISTRY_DEFAULT at it
 * so that an unknown image like `no-such-image` is answered "not found" (404) without the
 * Internet, where Docker Hub would be unreachable (503).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';

export interface EmptyRegistry {
  host: string;
  stop(): Promise<void>;
}

/**
 * A registry with no repositories, as the distribution spec has one answer: `/v2/` is 200, every
 * manifest or blob is 404 NAME_UNKNOWN. Cheaper than docker-registry where that is all a test needs.
 */
export async function startEmptyRegistry(): Promise<EmptyRegistry> {
  const server = createServer((req, res) => {
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
