/**
 * The floors stay floors: every import of every source keeps to the table in import-rules.ts
 * (ARCHITECTURE.md, "What each floor may import").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageRoot } from '../../contract/paths.js';
import { FLOORS, importsOf, sourceFiles, violationOf, violationsIn } from './import-rules.js';

/** The violations one source text would have, were it the file `file`. */
function check(file: string, text: string): string[] {
  return importsOf(file, text).map(violationOf).filter((v): v is string => v !== undefined);
}

describe('import rules', () => {
  it('hold for every source file', () => {
    const files = sourceFiles(packageRoot());
    for (const floor of Object.keys(FLOORS)) assert.ok(files.some((f) => f.startsWith(`${floor}/`)), `no sources found in ${floor}/`);
    assert.deepEqual(violationsIn(packageRoot()), []);
  });

  it('refuse an API module that imports the workers, the runtime or the store', () => {
    assert.match(check('api/routes/x.ts', "import { JobRunner } from '../../worker/job-runner.js';")[0] ?? '', /api\/routes\/x\.ts imports worker\/job-runner\.js: api\/ may import contract\/, queue\/, db\//);
    assert.equal(check('api/x.ts', "import type { Sandbox } from '../runtime/sandbox.js';").length, 1, 'a type import counts too');
    assert.equal(check('api/x.ts', "export { SnapshotStore } from '../images/image-store.js';").length, 1);
    assert.equal(check('api/x.ts', "const m = await import('../worker/job-runner.js');").length, 1);
    assert.equal(check('api/x.ts', "let r: import('../worker/job-runner.js').JobRunner;").length, 1);
  });

  it('let contract/ import nothing of the project, and db/ only contract/', () => {
    assert.equal(check('contract/x.ts', "import type { Limits } from '../queue/redis-keys.js';").length, 1);
    assert.deepEqual(check('contract/x.ts', "import type { Limits } from './limits.js';"), []);
    assert.equal(check('db/x.ts', "import type { JobPayload } from '../worker/job-runner.js';").length, 1);
    assert.deepEqual(check('db/x.ts', "import type { JobPayload } from '../contract/job-payload.js';"), []);
  });

  it('let the CLI use the API only for the types of its answers', () => {
    assert.deepEqual(check('cli/commands/x.ts', "import type { z } from '@hono/zod-openapi';\nimport type { poolsViewSchema } from '../../api/schemas/pools.js';"), []);
    assert.match(check('cli/commands/x.ts', "import { poolsViewSchema } from '../../api/schemas/pools.js';")[0] ?? '', /only with `import type`/);
    assert.equal(check('cli/commands/x.ts', "import { SnapshotStore } from '../../images/image-store.js';").length, 1);
  });

  it('keep Redis, HTTP and the db out of the runtime and the store', () => {
    assert.match(check('runtime/x.ts', "import type { Redis } from 'ioredis';")[0] ?? '', /the package ioredis, which runtime\/ must not know/);
    assert.equal(check('images/x.ts', "import { sql } from 'drizzle-orm/sqlite-core';").length, 1);
    assert.deepEqual(check('images/x.ts', "import { z } from 'zod';\nimport { join } from 'node:path';"), []);
  });

  it('place every new top-level folder in a floor', () => {
    assert.match(check('webhooks/x.ts', "import { join } from 'node:path';")[0] ?? '', /the folder webhooks\/ is in no floor/);
    assert.deepEqual(check('test/x.ts', "import { JobRunner } from '../worker/job-runner.js';"), []);
  });
});
