/** A trigger as the API shows it: never its secret (only the 201 that made it adds that). */
import { randomBytes } from 'node:crypto';
import { headerEnvName } from '../contract/trigger.js';
import type { TriggerDeliveryRow, TriggerRow } from '../db/schema.js';
import type { TriggerView } from './schemas/trigger.js';

export const TRIGGER_ID_PATTERN = /^trg_[A-Za-z0-9_-]{22}$/;

/** Unguessable: a hook's URL names its trigger, and a wrong name answers as a disabled one does. */
export function newTriggerId(): string {
  return 'trg_' + randomBytes(16).toString('base64url');
}

export function hookPath(id: string): string {
  return `/v1/hooks/${id}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toTriggerView(row: TriggerRow, deliveries?: TriggerDeliveryRow[]): TriggerView {
  const view: TriggerView = {
    id: row.id,
    tenantId: row.tenantId,
    name: row.name,
    enabled: row.enabled,
    verification: row.verification,
    passHeaders: row.passHeaders.map((header) => ({ header, env: headerEnvName(header) })),
    maxBodyBytes: row.maxBodyBytes,
    job: row.template,
    hookPath: hookPath(row.id),
    createdAt: iso(row.createdAt),
  };
  if (deliveries !== undefined) {
    view.deliveries = deliveries.map((d) => ({ receivedAt: iso(d.receivedAt), deliveryId: d.deliveryId, outcome: d.outcome, status: d.status, jobId: d.jobId }));
  }
  return view;
}
