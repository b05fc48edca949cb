/**
 * Piston v2's API on warmbox (README "Drop-in for Judge0 and Piston"): GET /api/v2/runtimes and
 * POST /api/v2/execute, in Piston's shapes, errors as `{ "message": ... }` with 400. An execute is
 * a judge run of one test (api/judge-run.ts), answered when it ends, as Piston does. The body is
 * read as JSON whatever its Content-Type: Piston's clients (piston-client) send text/plain.
 */
import { Hono, type Context } from 'hono';
import { mergeLanguages, type LanguagePreset } from '../../contract/languages.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { startJudgeRun } from '../judge-run.js';
import { judgeRequestSchema } from '../schemas/judge.js';
import { pistonAnswer, pistonExecuteSchema, toJudgeRequest } from './piston-execute.js';

class PistonRefusal extends Error {}

export function registerPiston(parent: Hono, deps: AppDeps): void {
  const app = new Hono();
  const presets = mergeLanguages(deps.config.languages);
  app.onError((err, c) => {
    if (err instanceof PistonRefusal) return c.json({ message: err.message }, 400);
    if (err instanceof ApiError && err.status === 422) return c.json({ message: err.message }, 400);
    throw err;
  });

  app.get('/api/v2/runtimes', (c) => c.json(presets.map((p) => ({ language: p.id, version: p.version, aliases: p.aliases ?? [], ...(p.build && { runtime: p.id }) }))));

  app.post('/api/v2/execute', async (c) => {
    const parsed = pistonExecuteSchema.safeParse(await jsonBody(c));
    if (!parsed.success) throw new PistonRefusal(parsed.error.issues[0]!.message);
    const body = parsed.data;
    const preset = runtimeOf(presets, body.language, body.version);
    const request = judgeRequestSchema.safeParse(toJudgeRequest(body, preset));
    if (!request.success) throw new PistonRefusal(request.error.issues.map((i) => `${pistonFieldOf(i.path)}: ${i.message}`).join('; '));
    const started = await startJudgeRun(deps, request.data, c.get('tenant'), [preset], c.req.raw.signal);
    const run = await started.done;
    if (run.verdict === 'internal_error') return c.json({ message: run.error ?? 'warmbox could not run the program' }, 500);
    return c.json(await pistonAnswer(deps.db, preset, run));
  });
  parent.route('/', app); // copies the routes defined above, with this app's error handler
}

/** The preset a language (or alias) names; `version` must be its version or `*` (Piston takes a semver range). */
function runtimeOf(presets: LanguagePreset[], language: string, version: string): LanguagePreset {
  const preset = presets.find((p) => p.id === language || p.aliases?.includes(language));
  if (preset === undefined || !(version === '*' || version === preset.version || version === 'latest')) {
    throw new PistonRefusal(`${language}-${version} runtime is unknown`);
  }
  return preset;
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new PistonRefusal('the body is not valid JSON');
  }
}

/** The Piston field a judge request's field came from. */
function pistonFieldOf(path: PropertyKey[]): string {
  const [first, second] = path.map(String);
  const limit: Record<string, string> = { wallTimeMs: 'timeout', cpuTimeMs: 'cpu_time', memoryBytes: 'memory_limit' };
  if ((first === 'limits' || first === 'buildLimits') && second !== undefined && second in limit) return `${first === 'limits' ? 'run' : 'compile'}_${limit[second]}`;
  return path.join('.');
}
