/**
 * The job a delivery starts: its trigger's template, with the delivery's body on stdin and as the
 * file PAYLOAD_FILE in the working directory, the chosen headers as WARMBOX_HEADER_* variables,
 * and the trigger (and delivery id) named in the environment and the labels.
 */
import { PAYLOAD_FILE, TRIGGER_ENV, headerEnvName } from '../contract/trigger.js';
import type { TriggerRow } from '../db/schema.js';
import type { JobRequest } from './schemas/job-request.js';
import type { JobTemplateRequest } from './schemas/trigger.js';

/** Labels every triggered job carries (GET /v1/jobs?label=warmbox.trigger=ID lists a trigger's jobs). */
export const TRIGGER_LABEL = 'warmbox.trigger';
export const DELIVERY_LABEL = 'warmbox.delivery';
/** The environment variables and labels a delivery adds to its template's (the trigger schema leaves room for them). */
export const ADDED_ENV_VARS = Object.keys(TRIGGER_ENV).length;
export const ADDED_LABELS = 2;

export function deliveryJobRequest(trigger: TriggerRow, body: Buffer, headers: Headers, deliveryId: string | undefined): JobRequest {
  const template = trigger.template as unknown as JobTemplateRequest;
  const base64 = body.toString('base64');
  const env: Record<string, string> = { ...template.env, [TRIGGER_ENV.triggerId]: trigger.id, [TRIGGER_ENV.payloadFile]: PAYLOAD_FILE };
  if (deliveryId !== undefined) env[TRIGGER_ENV.deliveryId] = deliveryId;
  for (const name of trigger.passHeaders) {
    const value = headers.get(name);
    if (value !== null) env[headerEnvName(name)] = value;
  }
  const labels: Record<string, string> = { ...template.labels, [TRIGGER_LABEL]: trigger.id };
  if (deliveryId !== undefined) labels[DELIVERY_LABEL] = deliveryId;
  return {
    ...template,
    stdin: { base64 },
    env,
    files: [...(template.files ?? []), { path: PAYLOAD_FILE, content: base64, encoding: 'base64', mode: 0o644 }],
    labels,
  };
}
