/** The logger never writes a credential, whatever object a caller hands it. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../server/logger.js';

describe('the logger', () => {
  it('redacts authorization headers, tokens and secrets', () => {
    let out = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((out += chunk.toString()), done()) });
    const log = createLogger({ level: 'info', format: 'json' }, sink as never);
    const token = 'wbx_0123456789abcdef_' + 'S'.repeat(43);
    log.info({ authorization: `Bearer ${token}` }, 'top level');
    log.info({ req: { headers: { authorization: `Bearer ${token}` } } }, 'request');
    log.info({ err: { config: { headers: { authorization: `Bearer ${token}` } } } }, 'client error');
    log.info({ token, key: { token, secret: 'x'.repeat(43) } }, 'named');
    assert.equal(out.trim().split('\n').length, 4);
    assert.ok(!out.includes('SSSS'), out);
    assert.ok(!out.includes('xxxx'), out);
    assert.match(out, /\[redacted\]/);
  });
});
