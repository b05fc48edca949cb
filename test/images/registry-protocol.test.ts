/**
 * The registry client's parts that need no registry: auth challenges, the credentials file, where a
 * registry is reached, platform choice from an index, and shared work with per-caller cancellation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialStore, credentialHost } from '../../images/registry/credentials.js';
import { ImagePullError } from '../../images/registry/image-pull-error.js';
import { NoMatchingPlatform, selectPlatform } from '../../images/registry/platform.js';
import { endpointsFor, isInsecureHost } from '../../images/registry/registry-options.js';
import { SingleFlight } from '../../images/registry/single-flight.js';
import { parseWwwAuthenticate } from '../../images/registry/www-authenticate.js';
import type { OciIndex } from '../../images/store/oci-image.js';

const D = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe('WWW-Authenticate', () => {
  it("parses Docker Hub's bearer challenge", () => {
    assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });

  it('parses basic, several challenges, commas and escapes inside quotes, token values', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="a, \\"b\\"", Bearer realm=x,error=insufficient_scope'), [
      { scheme: 'basic', params: { realm: 'a, "b"' } },
      { scheme: 'bearer', params: { realm: 'x', error: 'insufficient_scope' } },
    ]);
  });

  it('gives nothing for an absent header', () => {
    assert.deepEqual(parseWwwAuthenticate(null), []);
  });
});

describe('credentials file', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  it('finds credentials by host, whatever form the key has', () => {
    const creds = CredentialStore.parse(JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'registry.example:5000': { auth: b64('u:p:with:colons') },
        'https://ghcr.io': { username: 'gh', password: 'tok' },
        'helper.example': {}, // a credsStore entry: nothing to use
      },
      credsStore: 'desktop',
    }));
    assert.deepEqual(creds.lookup('docker.io'), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(creds.lookup('registry-1.docker.io'), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(creds.lookup('registry.example:5000'), { username: 'u', password: 'p:with:colons' });
    assert.deepEqual(creds.lookup('ghcr.io'), { username: 'gh', password: 'tok' });
    assert.equal(creds.lookup('helper.example'), undefined);
    assert.equal(creds.lookup('registry.example'), undefined, 'the port is part of the host');
  });

  it('refuses a file that is not a Docker config', () => {
    assert.throws(() => CredentialStore.parse('{nope'), (err: unknown) => err instanceof ImagePullError && err.code === 'invalid_options');
    assert.throws(() => CredentialStore.parse(JSON.stringify({ auths: { x: { auth: b64('no-colon') } } })), /user:password/);
  });

  it('treats a missing file as no credentials', async () => {
    const creds = await CredentialStore.load('/nonexistent/config.json');
    assert.equal(creds.lookup('docker.io'), undefined);
  });

  it('normalizes keys', () => {
    assert.equal(credentialHost('https://Index.Docker.io/v1/'), 'docker.io');
    assert.equal(credentialHost('http://127.0.0.1:5000/'), '127.0.0.1:5000');
  });
});

describe('endpoints', () => {
  it('reaches docker.io at registry-1.docker.io over https, mirrors first', () => {
    assert.deepEqual(endpointsFor('docker.io', { mirrors: { 'docker.io': ['http://10.0.0.5:5000/', 'https://mirror.example/prefix'] } }), [
      { url: 'http://10.0.0.5:5000', host: '10.0.0.5:5000', mirror: true },
      { url: 'https://mirror.example/prefix', host: 'mirror.example', mirror: true },
      { url: 'https://registry-1.docker.io', host: 'docker.io', mirror: false },
    ]);
  });

  it('fetches docker.io names from the default registry when one is set', () => {
    assert.deepEqual(endpointsFor('docker.io', { defaultRegistry: 'registry.internal:5000', insecure: ['registry.internal'] }), [
      { url: 'http://registry.internal:5000', host: 'registry.internal:5000', mirror: false },
    ]);
  });

  it('speaks plain http to loopback and to hosts listed insecure, https to the rest', () => {
    assert.equal(isInsecureHost('127.0.0.1:5000', []), true);
    assert.equal(isInsecureHost('localhost:443', []), true);
    assert.equal(isInsecureHost('[::1]:5000', []), true);
    assert.equal(isInsecureHost('ghcr.io', []), false);
    assert.equal(isInsecureHost('reg.lan:5000', ['reg.lan']), true, 'a host without port: any port');
    assert.equal(isInsecureHost('reg.lan:5001', ['reg.lan:5000']), false, 'a host with port: that port only');
    assert.equal(endpointsFor('ghcr.io', {})[0]?.url, 'https://ghcr.io');
  });

  it('refuses a mirror that is not an http(s) URL', () => {
    assert.throws(() => endpointsFor('docker.io', { mirrors: { 'docker.io': ['ftp://x'] } }), /http or https/);
  });
});

describe('platform choice', () => {
  const index: OciIndex = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(1), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(2), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(3), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(4), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(5), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(6), size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ],
  };

  it('matches os and architecture', () => {
    assert.equal(selectPlatform(index, { os: 'linux', architecture: 'amd64' }).digest, D(1));
    assert.equal(selectPlatform(index, { os: 'windows', architecture: 'amd64' }).digest, D(5));
  });

  it('prefers the exact variant, then an entry that names none', () => {
    assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest, D(3));
    assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest, D(4));
    assert.equal(selectPlatform(index, { os: 'linux', architecture: 'aarch64', variant: 'v8' }).digest, D(4), 'architecture aliases');
  });

  it('names the platforms the image has when none matches, attestations left out', () => {
    assert.throws(() => selectPlatform(index, { os: 'linux', architecture: 's390x' }), (err: unknown) => {
      assert.ok(err instanceof NoMatchingPlatform);
      assert.deepEqual(err.available, ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'windows/amd64']);
      return true;
    });
  });

  it('takes the only manifest of an index without platforms', () => {
    const bare: OciIndex = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(7), size: 1 }] };
    assert.equal(selectPlatform(bare, { os: 'linux', architecture: 'amd64' }).digest, D(7));
  });
});

describe('SingleFlight', () => {
  it('runs one piece of work for concurrent callers, and replays the latest events to a late one', async () => {
    const flights = new SingleFlight<number, { k: string; v: number }>((e) => e.k);
    let runs = 0;
    let finish!: (v: number) => void;
    const work = (_signal: AbortSignal, emit: (e: { k: string; v: number }) => void): Promise<number> => {
      runs++;
      emit({ k: 'a', v: 1 });
      emit({ k: 'a', v: 2 });
      return new Promise((resolve) => { finish = resolve; });
    };
    const early: number[] = [];
    const late: number[] = [];
    const one = flights.run('key', work, { onEvent: (e) => early.push(e.v) });
    const two = flights.run('key', work, { onEvent: (e) => late.push(e.v) });
    finish(42);
    assert.deepEqual(await Promise.all([one, two]), [42, 42]);
    assert.equal(runs, 1);
    assert.deepEqual(early, [1, 2]);
    assert.deepEqual(late, [2]);
    assert.equal(flights.inFlight, 0);
  });

  it('answers a caller that aborts at once, and aborts the work only when every caller has', async () => {
    const flights = new SingleFlight<string>();
    let workSignal!: AbortSignal;
    const work = (signal: AbortSignal): Promise<string> => {
      workSignal = signal;
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason));
        setTimeout(() => resolve('done'), 100);
      });
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = flights.run('k', work, { signal: a.signal });
    const pb = flights.run('k', work, { signal: b.signal });
    a.abort(new Error('a gave up'));
    await assert.rejects(pa, /a gave up/);
    assert.equal(workSignal.aborted, false, 'b still wants it');
    b.abort(new Error('b gave up'));
    await assert.rejects(pb, /b gave up/);
    assert.equal(workSignal.aborted, true);
    assert.equal(flights.inFlight, 0, 'the next caller starts afresh');
  });
});
