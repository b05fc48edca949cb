/**
 * Triggers (webhooks in): how a delivery to POST /v1/hooks/{id} proves it comes from the sender,
 * and where its body and headers reach the job. The API and the db share these names.
 */

/** GitHub-style `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`, or `Authorization: Bearer <token>`. */
export const TRIGGER_VERIFICATIONS = ['hmac-sha256', 'bearer'] as const;
export type TriggerVerification = (typeof TRIGGER_VERIFICATIONS)[number];

/**
 * A job request without `stdin` (the delivery's body is the job's stdin), as validated by the API's
 * job request schema, its image normalized. Stored as JSON; the API reads it back with its own type.
 */
export interface JobTemplate {
  image: string;
  [field: string]: unknown;
}

/** The delivery's body, as a file in the job's working directory (and on its stdin). */
export const PAYLOAD_FILE = '.warmbox-payload';
/** A passed header `X-GitHub-Event` becomes `WARMBOX_HEADER_X_GITHUB_EVENT`. */
export const HEADER_ENV_PREFIX = 'WARMBOX_HEADER_';
/** Set in every triggered job: its trigger, the delivery id (when the sender gave one), the payload file. */
export const TRIGGER_ENV = { triggerId: 'WARMBOX_TRIGGER_ID', deliveryId: 'WARMBOX_DELIVERY_ID', payloadFile: 'WARMBOX_PAYLOAD_FILE' } as const;

export function headerEnvName(header: string): string {
  return HEADER_ENV_PREFIX + header.toUpperCase().replaceAll('-', '_');
}
