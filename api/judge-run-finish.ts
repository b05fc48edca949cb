/**
 * The webhook deliveries a finished judge run records with its verdict (db/judge-runs.ts
 * finishJudgeRun, one transaction): its `webhook` (`judge_run.finished`: the run as GET
 * /v1/judge/{id} shows it, POSTed and signed like a job's), and a Judge0 submission's
 * `callback_url` (Judge0's attributes, PUT as Judge0 sends them). Their bodies are made here, once,
 * and delivered by the workers' webhook queue with its retries, backoff, dead letters and recorded
 * attempts (worker/webhook-deliverer.ts): a delivery survives whatever dies after the verdict.
 */
import type { JudgeRunView } from '../contract/judge.js';
import { JUDGE0_CALLBACK_EVENT, JUDGE_RUN_FINISHED_EVENT } from '../contract/webhook-signature.js';
import { getJudge0Submissions } from '../db/judge0-submissions.js';
import { getJudgeRunById, type RunDelivery } from '../db/judge-runs.js';
import { runDeliveryIdOf } from '../db/webhook-deliveries.js';
import type { AppDeps } from './deps.js';
import { DEFAULT_FIELDS, serialize, submissionAttributes, type Judge0Submission } from './dropin/judge0-submission.js';

export function runDeliveries(deps: AppDeps, view: JudgeRunView): RunDelivery[] {
  const row = getJudgeRunById(deps.db, view.id);
  if (row === undefined) return [];
  const deliveries: RunDelivery[] = [];
  if (row.webhookUrl !== null) {
    const id = runDeliveryIdOf(view.id, 'webhook');
    deliveries.push({ id, event: JUDGE_RUN_FINISHED_EVENT, url: row.webhookUrl, body: JSON.stringify({ type: JUDGE_RUN_FINISHED_EVENT, deliveryId: id, judgeRun: view }) });
  }
  const [judge0] = getJudge0Submissions(deps.db, [view.id], row.tenantId);
  const submission = judge0?.request as Judge0Submission | undefined;
  if (submission?.callback_url) {
    // Judge0 sends the default attributes, base64-encoded.
    const body = serialize(submissionAttributes(deps.db, view.id, submission, view), DEFAULT_FIELDS, true);
    deliveries.push({ id: runDeliveryIdOf(view.id, 'judge0_callback'), event: JUDGE0_CALLBACK_EVENT, url: submission.callback_url, body: JSON.stringify(body) });
  }
  return deliveries;
}
