/**
 * The server's logger: JSON lines unless stdout is a terminal (WARMBOX_LOG_FORMAT forces either),
 * and the active OpenTelemetry span's trace_id and span_id on every line written inside it.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import { packageRoot } from '../../contract/paths.js';
import { createLogger } from '../../server/logger.js';

/** The smallest context manager there is (a tracing SDK registers its own): the active context follows async calls. */
class StorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('server logger', () => {
  after(() => context.disable());

  it('adds nothing when no span is active (no tracing SDK)', () => {
    const out = capture();
    createLogger({ level: 'info' }, out.stream).info({ job: 'J1' }, 'job finished');
    const [line] = out.lines();
    assert.equal(line!.job, 'J1');
    assert.equal(line!.trace_id, undefined);
    assert.equal(line!.span_id, undefined);
  });

  it('adds the active span\'s trace_id and span_id', () => {
    context.setGlobalContextManager(new StorageContextManager());
    const out = capture();
    const log = createLogger({ level: 'info' }, out.stream);
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
    context.with(trace.setSpan(context.active(), trace.wrapSpanContext(spanContext)), () => log.info('inside'));
    log.info('outside');
    const [inside, outside] = out.lines();
    assert.equal(inside!.trace_id, spanContext.traceId);
    assert.equal(inside!.span_id, spanContext.spanId);
    assert.equal(outside!.trace_id, undefined);
  });

  /** A process whose stdout is a pipe, not a terminal, logging one line in the given format. */
  function logInChild(format: string | undefined): string {
    const logger = pathToFileURL(join(packageRoot(), 'dist/server/logger.js')).href;
    const script = `const { createLogger } = await import(${JSON.stringify(logger)}); createLogger({ level: 'info', format: ${JSON.stringify(format)} }).info({ job: 'J2' }, 'job finished');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }

  it('writes JSON when stdout is not a terminal, and pretty lines when told to', () => {
    const json = JSON.parse(logInChild(undefined)) as Record<string, unknown>;
    assert.equal(json.msg, 'job finished');
    assert.equal(json.job, 'J2');
    const pretty = logInChild('pretty');
    assert.throws(() => JSON.parse(pretty));
    assert.match(pretty, /INFO.*job finished/);
    assert.match(pretty, /job: "J2"/);
  });
});
