/**
 * Judge0 CE's API on warmbox (README "Drop-in for Judge0 and Piston"): POST/GET /submissions (with
 * `wait`, `base64_encoded`, `fields`), /submissions/batch, GET /languages, GET /statuses, and
 * `callback_url`. Each submission is a judge run of one test (api/judge-run.ts); its token is the
 * run's id, so GET /v1/judge/{token} shows the same run. Errors come in Judge0's shapes: 422 with
 * each bad attribute's messages, others as `{ "error": ... }`.
 */
import { Hono, type Context } from 'hono';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JudgeRunView } from '../../contract/judge.js';
import { mergeLanguages } from '../../contract/languages.js';
import { getJudge0Submissions, recordJudge0Submission } from '../../db/judge0-submissions.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { startJudgeRun } from '../judge-run.js';
import { judgeRequestSchema } from '../schemas/judge.js';
import { judge0Languages, listedJudge0Languages, type Judge0Language } from './judge0-languages.js';
import { JUDGE0_STATUSES } from './judge0-statuses.js';
import {
  ENCODED_IN,
  fieldsOf,
  judge0Errors,
  judge0SubmissionSchema,
  NotUtf8Error,
  serialize,
  submissionAttributes,
  toJudgeRequest,
  type Judge0Errors,
  type Judge0Submission,
} from './judge0-submission.js';

/** Most submissions of one batch, as Judge0's default MAX_SUBMISSION_BATCH_SIZE. */
export const JUDGE0_MAX_BATCH = 20;

/** A request Judge0 would refuse, with its status and body. */
class Judge0Refusal extends Error {
  constructor(readonly status: 400 | 404 | 422, readonly body: Judge0Errors | { error: string }) {
    super(JSON.stringify(body));
  }
}

export function registerJudge0(parent: Hono, deps: AppDeps): void {
  // Its own app, so that its refusals take Judge0's shapes and not warmbox's error handler's.
  const app = new Hono();
  const languages = judge0Languages(mergeLanguages(deps.config.languages));
  const create = (c: Context, body: unknown, base64: boolean) => createSubmission(deps, c, languages, body, base64);

  app.onError((err, c) => {
    if (err instanceof Judge0Refusal) return c.json(err.body, err.status);
    throw err;
  });

  app.get('/statuses', (c) => c.json(JUDGE0_STATUSES));
  app.get('/languages', (c) => c.json(listedJudge0Languages(languages).map(({ id, name }) => ({ id, name }))));
  app.get('/languages/:id', (c) => {
    const language = languages.find((l) => String(l.id) === c.req.param('id'));
    if (language === undefined) return c.json({ error: `language with id ${c.req.param('id')} doesn't exist` }, 404);
    const { preset } = language;
    return c.json({ id: language.id, name: language.name, is_archived: false, source_file: preset.sourceFile, compile_cmd: preset.build?.join(' ') ?? null, run_cmd: preset.run.join(' ') });
  });

  app.post('/submissions/batch', async (c) => {
    const base64 = flag(c.req.query('base64_encoded'));
    const body = (await jsonBody(c)) as { submissions?: unknown };
    if (!Array.isArray(body?.submissions) || body.submissions.length === 0) throw new Judge0Refusal(422, { submissions: ["can't be blank"] });
    if (body.submissions.length > JUDGE0_MAX_BATCH) throw new Judge0Refusal(422, { submissions: [`number of submissions in a batch must be less than or equal to ${JUDGE0_MAX_BATCH}`] });
    const answers = [];
    for (const item of body.submissions) {
      try {
        answers.push({ token: (await create(c, item, base64)).token });
      } catch (err) {
        if (!(err instanceof Judge0Refusal)) throw err;
        answers.push(err.body);
      }
    }
    return c.json(answers, 201);
  });

  app.get('/submissions/batch', (c) => {
    const tokens = (c.req.query('tokens') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
    if (tokens.length === 0) throw new Judge0Refusal(400, { error: 'tokens is required' });
    if (tokens.length > JUDGE0_MAX_BATCH) throw new Judge0Refusal(400, { error: `number of submissions in a batch must be less than or equal to ${JUDGE0_MAX_BATCH}` });
    const found = new Map(getJudge0Submissions(deps.db, tokens, c.get('tenant').id).map((s) => [s.run.id, s]));
    const submissions = tokens.map((t) => found.get(t)).map((s) => (s === undefined ? null : shown(deps, c, s.run.id, s.request as Judge0Submission, s.run.view)));
    return c.json({ submissions });
  });

  app.post('/submissions', async (c) => {
    const base64 = flag(c.req.query('base64_encoded'));
    const { token, done, submission } = await create(c, await jsonBody(c), base64);
    if (!flag(c.req.query('wait'))) return c.json({ token }, 201);
    const finished = await Promise.race([done, sleep(deps.config.maxWaitMs).then(() => undefined)]);
    const view = finished ?? storedRun(deps, c, token);
    return c.json(shown(deps, c, token, submission, view), 201);
  });

  app.get('/submissions/:token', (c) => {
    const token = c.req.param('token');
    const [stored] = getJudge0Submissions(deps.db, [token], c.get('tenant').id);
    if (stored === undefined) throw new Judge0Refusal(404, { error: `submission ${token} not found` });
    return c.json(shown(deps, c, token, stored.request as Judge0Submission, stored.run.view));
  });
  parent.route('/', app); // copies the routes defined above, with this app's error handler
}

/**
 * A submission is a judge run, recorded with its Judge0 attributes before the run starts; its
 * `callback_url` is a delivery the run records as it finishes (api/judge-run-finish.ts), so it is
 * sent whichever process ends the run, retried like a webhook.
 */
async function createSubmission(deps: AppDeps, c: Context, languages: Judge0Language[], body: unknown, base64: boolean) {
  const submission = parseSubmission(body, base64);
  const language = languages.find((l) => l.id === submission.language_id);
  if (language === undefined) throw new Judge0Refusal(422, { language_id: [`language with id ${submission.language_id} doesn't exist`] });
  if (submission.additional_files != null) throw new Judge0Refusal(422, { additional_files: ['is not supported by warmbox: send the files of a run with POST /v1/judge'] });
  if (submission.enable_network) throw new Judge0Refusal(422, { enable_network: ['is not supported by warmbox: sandboxes have no network'] });
  const request = judgeRequestSchema.safeParse(toJudgeRequest(submission, language));
  if (!request.success) {
    const issue = request.error.issues[0]!;
    throw new Judge0Refusal(422, { [judge0FieldOf(issue.path.join('.'))]: [issue.message] });
  }
  let started;
  try {
    started = await startJudgeRun(deps, request.data, c.get('tenant'), [language.preset], c.req.raw.signal, { beforeStart: (token) => recordJudge0Submission(deps.db, token, submission) });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // A limit out of warmbox's bounds, an image not in the store, ...: Judge0's 422 for the attribute.
    if (err.status === 422) throw new Judge0Refusal(422, { [judge0FieldOf(err.details.field)]: [err.message] });
    throw err;
  }
  const token = started.view.id;
  started.done.catch((err: unknown) => deps.logger.error({ err, token }, 'Judge0 submission failed'));
  return { token, done: started.done, submission };
}

/** Judge0's body, base64 attributes decoded, validated: 422 with each attribute's messages. */
function parseSubmission(body: unknown, base64: boolean): Judge0Submission {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Judge0Refusal(400, { error: 'the body must be a JSON object' });
  const decoded: Record<string, unknown> = { ...body };
  if (base64) {
    for (const name of ENCODED_IN) {
      const value = decoded[name];
      if (typeof value === 'string') decoded[name] = Buffer.from(value, 'base64').toString('utf8');
    }
  }
  const parsed = judge0SubmissionSchema.safeParse(decoded);
  if (!parsed.success) throw new Judge0Refusal(422, judge0Errors(parsed.error));
  return parsed.data;
}

/** The attribute a warmbox field (`limits.memoryBytes`, `tests[0].stdin`) came from. */
function judge0FieldOf(field: unknown): string {
  const map: Record<string, string> = {
    'limits.cpuTimeMs': 'cpu_time_limit',
    'limits.wallTimeMs': 'wall_time_limit',
    'limits.memoryBytes': 'memory_limit',
    'limits.pids': 'max_processes_and_or_threads',
    'limits.fileSizeBytes': 'max_file_size',
    'limits.stackBytes': 'stack_limit',
  };
  return typeof field === 'string' ? (map[field] ?? (field.startsWith('tests') ? 'stdin' : field)) : 'base';
}

function shown(deps: AppDeps, c: Context, token: string, submission: Judge0Submission, view: JudgeRunView): Record<string, unknown> {
  const attributes = submissionAttributes(deps.db, token, submission, view);
  try {
    return serialize(attributes, fieldsOf(c.req.query('fields')), flag(c.req.query('base64_encoded')));
  } catch (err) {
    if (err instanceof NotUtf8Error) throw new Judge0Refusal(400, { error: err.message });
    throw err;
  }
}

function storedRun(deps: AppDeps, c: Context, token: string): JudgeRunView {
  const [stored] = getJudge0Submissions(deps.db, [token], c.get('tenant').id);
  return stored!.run.view;
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new Judge0Refusal(400, { error: 'the body is not valid JSON' });
  }
}

function flag(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}
