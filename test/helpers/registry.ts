/**
 * Real registry parts for the image tests, all on loopback and free ports, each stopped by its pid:
 *
 * - startRegistry: Debian's `docker-registry` (distribution 2.8) with a temp storage dir; anonymous,
 *   with htpasswd basic auth (`htpasswd -B`, apache2-utils), or with token auth against startTokenServer.
 * - startTokenServer: a token service as Docker Hub's auth.docker.io works (distribution's token spec):
 *   RS256 JWTs with an x5c certificate the registry trusts, made with openssl.
 * - startProxy: an HTTP proxy in front of a registry that counts requests and can lie (tamper a blob,
 *   redirect blobs elsewhere): the failures a test needs that a correct registry never produces.
 * - OCI image building with umoci and pushing with skopeo, or pushing raw blobs and manifests through the
 *   distribution API (pushRawImage) for layers no tool would make (hostile ones).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from './tmp.js';

const run = promisify(execFile);

export async function hasTool(command: string, args: string[] = ['--version']): Promise<boolean> {
  return run(command, args).then(() => true, () => false);
}

/** Why registry tests cannot run here, or false. */
export async function registryTestsUnavailable(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root (unpacking layers keeps ownership, makes whiteouts)';
  for (const [tool, args] of [['docker-registry', ['--version']], ['skopeo', ['--version']], ['umoci', ['--version']]] as const) {
    if (!(await hasTool(tool, [...args]))) return `${tool} is not installed (run \`npm run setup\`)`;
  }
  return false;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export interface TestRegistry {
  /** '127.0.0.1:PORT': the registry part of a reference. */
  host: string;
  url: string;
  storageDir: string;
  pid: number;
  /** The registry's log so far (access log included). */
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryAuthConfig {
  htpasswd?: { username: string; password: string };
  token?: TokenServer;
}

/** Starts `docker-registry serve` on a free loopback port; resolves when it answers /v2/. */
export async function startRegistry(auth: RegistryAuthConfig = {}): Promise<TestRegistry> {
  const dir = await makeTempDir('registry');
  const port = await freePort();
  const storageDir = join(dir, 'data');
  let authYaml = '';
  if (auth.htpasswd) {
    const { stdout } = await run('htpasswd', ['-Bbn', auth.htpasswd.username, auth.htpasswd.password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    authYaml = `auth:\n  htpasswd:\n    realm: warmbox-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.token) {
    authYaml = `auth:\n  token:\n    realm: ${auth.token.realm}\n    service: ${auth.token.service}\n    issuer: ${auth.token.issuer}\n    rootcertbundle: ${auth.token.certFile}\n`;
  }
  const config = [
    'version: 0.1',
    'log:\n  level: info\n  formatter: text',
    `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true`,
    `http:\n  addr: 127.0.0.1:${port}\n  secret: warmbox-test`,
    authYaml,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);

  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await removeTempDir(dir);
  };
  try {
    await waitUntil(async () => (await fetch(`${url}/v2/`).then((r) => r.status, () => 0)) !== 0, 10_000, () => `registry did not start:\n${log}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, url, storageDir, pid: child.pid ?? 0, log: () => log, stop };
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Token requests so far, with whether they carried basic credentials. */
  requests: Array<{ scope: string[]; user: string | undefined }>;
  stop(): Promise<void>;
}

/**
 * A token service: grants what is asked to a user whose basic credentials match, nothing to anyone
 * else (so the registry then refuses an anonymous pull), and 401 to wrong credentials.
 */
export async function startTokenServer(users: Record<string, string>): Promise<TokenServer> {
  const dir = await makeTempDir('token');
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=warmbox-test-token']);
  const key = await readFile(keyFile);
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const service = 'warmbox-test-registry';
  const issuer = 'warmbox-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const user = basicUser(req.headers.authorization, users);
    requests.push({ scope: scopes, user: user === null ? undefined : user });
    if (user === null) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const access = user === undefined ? [] : scopes.map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: (actions ?? '').split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = b64({ typ: 'JWT', alg: 'RS256', x5c: [certDer] });
    const claims = b64({ iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
    const signature = sign('sha256', Buffer.from(`${head}.${claims}`), key).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${head}.${claims}.${signature}`, expires_in: 300 }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: async () => {
      await closeServer(server);
      await removeTempDir(dir);
    },
  };
}

/** undefined: no credentials; null: wrong ones; else the user name. */
function basicUser(header: string | undefined, users: Record<string, string>): string | undefined | null {
  if (header === undefined || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user] === decoded.slice(colon + 1) ? user : null;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface ProxyHooks {
  /** Answer a request yourself (return true when handled) instead of forwarding it. */
  intercept?: (req: IncomingMessage, res: ServerResponse, proxy: TestProxy) => boolean;
  /** Change a forwarded response's body (it is buffered when this returns a function for the request). */
  rewriteBody?: (req: IncomingMessage) => ((body: Buffer) => Buffer) | undefined;
  /** Delay every forwarded response by this much (to make concurrent requests overlap). */
  delayMs?: number;
}

export interface TestProxy {
  host: string;
  url: string;
  requests: ProxiedRequest[];
  blobGets(digest?: string): number;
  stop(): Promise<void>;
}

/** An HTTP proxy in front of target ('http://127.0.0.1:PORT') that records every request. */
export async function startProxy(target: string, hooks: ProxyHooks = {}): Promise<TestProxy> {
  const requests: ProxiedRequest[] = [];
  const targetUrl = new URL(target);
  // eslint-disable-next-line prefer-const
  let proxy: TestProxy;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    if (hooks.intercept?.(req, res, proxy)) return;
    const rewrite = hooks.rewriteBody?.(req);
    const upstream = httpRequest({
      host: targetUrl.hostname,
      port: targetUrl.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: targetUrl.host },
    }, (up) => {
      const answer = async (): Promise<void> => {
        if (hooks.delayMs) await new Promise((r) => setTimeout(r, hooks.delayMs));
        if (!rewrite) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        for await (const chunk of up) chunks.push(chunk as Buffer);
        const body = rewrite(Buffer.concat(chunks));
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(body.length) });
        res.end(body);
      };
      answer().catch((err: Error) => res.destroy(err));
    });
    upstream.on('error', (err) => res.destroy(err));
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  proxy = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    blobGets: (digest?: string) => requests.filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.url) && (digest === undefined || r.url.endsWith(digest))).length,
    stop: () => closeServer(server),
  };
  return proxy;
}

// ---- images: umoci to build, skopeo to push ----

/** An OCI image layout made with umoci; each call adds a layer or changes the config of a tag. */
export class UmociLayout {
  constructor(readonly dir: string) {}

  static async create(dir: string): Promise<UmociLayout> {
    await run('umoci', ['init', '--layout', dir]);
    return new UmociLayout(dir);
  }

  async newImage(tag: string): Promise<void> {
    await run('umoci', ['new', '--image', `${this.dir}:${tag}`]);
  }

  async copyTag(from: string, to: string): Promise<void> {
    await run('umoci', ['tag', '--image', `${this.dir}:${from}`, to]);
  }

  /**
   * A new layer with what fn changes in the image's tree: umoci unpacks it, fn edits the rootfs, umoci
   * repacks the difference (a deleted file becomes a `.wh.` whiteout). Not `umoci insert`: umoci
   * 0.4.7's insert writes tars that end without their last padding and end-of-archive blocks.
   */
  async change(tag: string, fn: (rootfs: string) => Promise<void>): Promise<void> {
    const bundle = join(this.dir, '..', `bundle-${randomUUID()}`);
    await run('umoci', ['unpack', '--image', `${this.dir}:${tag}`, bundle]);
    try {
      await fn(join(bundle, 'rootfs'));
      await run('umoci', ['repack', '--image', `${this.dir}:${tag}`, bundle]);
    } finally {
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** A layer made by hand (uncompressed tar), e.g. with an opaque-directory marker no tool emits on demand. */
  async addRawLayer(tag: string, tar: Buffer): Promise<void> {
    const file = join(this.dir, '..', `layer-${randomUUID()}.tar`);
    await writeFile(file, tar);
    try {
      await run('umoci', ['raw', 'add-layer', '--image', `${this.dir}:${tag}`, file]);
    } finally {
      await rm(file, { force: true });
    }
  }

  async config(tag: string, args: string[]): Promise<void> {
    await run('umoci', ['config', '--image', `${this.dir}:${tag}`, ...args]);
  }

  /** The rootfs as umoci itself unpacks it (the reference result). */
  async unpack(tag: string, bundle: string): Promise<string> {
    await run('umoci', ['unpack', '--image', `${this.dir}:${tag}`, bundle]);
    return join(bundle, 'rootfs');
  }

  async index(): Promise<{ manifests: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }> }> {
    return JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8'));
  }

  async manifestDigest(tag: string): Promise<string> {
    const entry = (await this.index()).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (!entry) throw new Error(`no tag ${tag} in ${this.dir}`);
    return entry.digest;
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  }

  /** Adds (or replaces) a tag that names an OCI index of the given tags' manifests, one platform each. */
  async writeIndex(tag: string, entries: Array<{ tag: string; platform: { os: string; architecture: string; variant?: string } }>): Promise<string> {
    const manifests = [];
    for (const e of entries) {
      const digest = await this.manifestDigest(e.tag);
      const size = (await this.readBlob(digest)).length;
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: e.platform });
    }
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await writeFile(join(this.dir, 'blobs', 'sha256', digest.slice(7)), body);
    const index = await this.index();
    index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
    index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: body.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
    await writeFile(join(this.dir, 'index.json'), JSON.stringify(index));
    return digest;
  }
}

/** skopeo copy of a layout tag to a registry (all platforms of an index with `all`). */
export async function pushWithSkopeo(
  layout: string,
  tag: string,
  dest: string,
  opts: { creds?: string; all?: boolean } = {},
): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (opts.creds) args.push('--dest-creds', opts.creds);
  if (opts.all) args.push('--all');
  await runWithPolicy(args.concat([`oci:${layout}:${tag}`, `docker://${dest}`]));
}

/** skopeo copy between any two of its transports (oci:, docker-archive:, docker://). */
export async function skopeoCopy(src: string, dest: string, extra: string[] = []): Promise<void> {
  await runWithPolicy(['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, src, dest]);
}

/** skopeo with an accept-anything signature policy of its own (a fresh machine may have none). */
async function runWithPolicy(args: string[]): Promise<void> {
  const dir = await makeTempDir('skopeo');
  try {
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await run('skopeo', ['--policy', policy, ...args], { maxBuffer: 16 * 1024 * 1024 });
  } finally {
    await removeTempDir(dir);
  }
}

// ---- raw pushes through the distribution API ----

export interface RawImage {
  layers: Array<{ blob: Buffer; mediaType?: string }>;
  /** diff_ids are computed from the blobs (gunzipped when gzip) unless given. */
  diffIds?: string[];
  config?: Record<string, unknown>;
  architecture?: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Pushes blobs and a manifest by the spec's monolithic upload; returns the manifest digest. */
export async function pushRawImage(registryUrl: string, repository: string, tag: string, image: RawImage, authorization?: string): Promise<string> {
  const { gunzipSync } = await import('node:zlib');
  const diffIds = image.diffIds ?? image.layers.map((l) => sha256(l.blob[0] === 0x1f && l.blob[1] === 0x8b ? gunzipSync(l.blob) : l.blob));
  const config = Buffer.from(JSON.stringify({
    architecture: image.architecture ?? 'amd64',
    os: 'linux',
    config: image.config ?? { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const headers: Record<string, string> = authorization ? { authorization } : {};
  for (const blob of [config, ...image.layers.map((l) => l.blob)]) await pushBlob(registryUrl, repository, blob, headers);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: image.layers.map((l) => ({ mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l.blob), size: l.blob.length })),
  }));
  await pushManifest(registryUrl, repository, tag, manifest, 'application/vnd.oci.image.manifest.v1+json', headers);
  return sha256(manifest);
}

export async function pushBlob(registryUrl: string, repository: string, blob: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location') ?? '', registryUrl);
  location.searchParams.set('digest', sha256(blob));
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(blob) });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
}

export async function pushManifest(registryUrl: string, repository: string, reference: string, body: Buffer, mediaType: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { ...headers, 'content-type': mediaType }, body: new Uint8Array(body) });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
}

// ---- comparing trees ----

/**
 * A tree as lines 'path type mode uid:gid size-or-target sha256', sorted; the root itself left out.
 * Equal listings mean equal trees for everything an image cares about.
 */
export async function treeListing(root: string): Promise<string[]> {
  const { stdout } = await run('find', [root, '-mindepth', '1', '-printf', '%P\\t%y\\t%m\\t%U:%G\\t%s\\t%l\\n'], { maxBuffer: 64 * 1024 * 1024 });
  const lines: string[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [path, type, mode, owner, size, target] = line.split('\t');
    let content = '';
    if (type === 'f') content = createHash('sha256').update(await readFile(join(root, path ?? ''))).digest('hex').slice(0, 16);
    const sizeOrTarget = type === 'l' ? `-> ${target}` : type === 'd' ? '' : size;
    lines.push([path, type, mode, owner, sizeOrTarget, content].join(' '));
  }
  return lines.sort();
}

/** Mounts the layers (bottom-most first, as StoredImage.layerDirs) as overlayfs and runs fn on the merged tree. */
export async function withMergedLayers<T>(layerDirs: string[], fn: (merged: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir('merged');
  try {
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(dir, d)) as [string, string, string];
    await run('mkdir', [upper, work, merged]);
    const lower = [...layerDirs].reverse().join(':');
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    try {
      return await fn(merged);
    } finally {
      await run('umount', [merged]);
    }
  } finally {
    await removeTempDir(dir);
  }
}

// ---- processes ----

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 50));
  }
}
