import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  familiarReference,
  InvalidReferenceError,
  normalizeReference,
  parseReference,
} from '../../contract/image-reference.js';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('parseReference', () => {
  const cases: Array<[string, ReturnType<typeof parseReference>]> = [
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['python:3.12', { registry: 'docker.io', repository: 'library/python', tag: '3.12' }],
    ['docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['index.docker.io/library/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['user/repo', { registry: 'docker.io', repository: 'user/repo', tag: 'latest' }],
    [`ghcr.io/org/img@${DIGEST}`, { registry: 'ghcr.io', repository: 'org/img', digest: DIGEST }],
    ['localhost:5000/team/tool:1', { registry: 'localhost:5000', repository: 'team/tool', tag: '1' }],
    ['localhost/tool', { registry: 'localhost', repository: 'tool', tag: 'latest' }],
    ['127.0.0.1:5000/a/b/c:v1.0-rc_1', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'v1.0-rc_1' }],
    ['[::1]:5000/x:y', { registry: '[::1]:5000', repository: 'x', tag: 'y' }],
    [`name:tag@${DIGEST}`, { registry: 'docker.io', repository: 'library/name', tag: 'tag', digest: DIGEST }],
    ['my_org/a__b.c-d---e:T', { registry: 'docker.io', repository: 'my_org/a__b.c-d---e', tag: 'T' }],
    // No '/', so '5000' is a tag, as in Docker.
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
    [`busybox:${'x'.repeat(128)}`, { registry: 'docker.io', repository: 'library/busybox', tag: 'x'.repeat(128) }],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${input.length > 60 ? `${input.slice(0, 57)}...` : input}`, () => {
      assert.deepEqual(parseReference(input), expected);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['docker.io/Library/busybox', /lowercase/],
    ['busybox:', /tag/],
    ['busybox:-x', /tag/],
    [`busybox:${'x'.repeat(129)}`, /tag/],
    ['busybox@sha256:abc', /digest/],
    [`busybox@md5:${HEX}`, /digest/],
    [`busybox@sha256:${'A'.repeat(64)}`, /digest/],
    ['a//b', /path component/],
    ['/busybox', /path component|empty/],
    ['busybox/', /path component/],
    ['a..b', /path component/],
    ['-foo', /path component/],
    ['foo-', /path component/],
    [HEX, /hexadecimal/],
    ['exa mple.com/x', /registry/],
    ['ghcr.io/', /empty/],
    [`r.io/${'a'.repeat(300)}`, /longer than 255/],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
      assert.throws(() => parseReference(input), (err: unknown) => {
        assert.ok(err instanceof InvalidReferenceError, `not an InvalidReferenceError: ${String(err)}`);
        assert.equal(err.code, 'invalid_reference');
        assert.equal(err.reference, input);
        assert.match(err.message, reason);
        return true;
      });
    });
  }
});

describe('normalizeReference', () => {
  it('gives the full canonical string', () => {
    assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('python:3.12'), 'docker.io/library/python:3.12');
    assert.equal(normalizeReference(`ghcr.io/org/img@${DIGEST}`), `ghcr.io/org/img@${DIGEST}`);
    assert.equal(normalizeReference(`img:1@${DIGEST}`), `docker.io/library/img:1@${DIGEST}`);
    assert.equal(normalizeReference('localhost:5000/team/tool:1'), 'localhost:5000/team/tool:1');
  });

  it('is idempotent', () => {
    for (const s of ['busybox', 'user/repo:x', `ghcr.io/org/img@${DIGEST}`]) {
      assert.equal(normalizeReference(normalizeReference(s)), normalizeReference(s));
    }
  });
});

describe('familiarReference', () => {
  it('shortens Docker Hub names the way docker images shows them', () => {
    assert.equal(familiarReference('docker.io/library/busybox:latest'), 'busybox:latest');
    assert.equal(familiarReference('docker.io/user/repo:1'), 'user/repo:1');
    assert.equal(familiarReference('docker.io/library/a/b:1'), 'library/a/b:1');
    assert.equal(familiarReference(`ghcr.io/org/img@${DIGEST}`), `ghcr.io/org/img@${DIGEST}`);
  });
});
