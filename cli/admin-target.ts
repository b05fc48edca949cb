/**
 * Where `warmbox keys` and `warmbox tenants` act. With an API key (WARMBOX_API_KEY, --api-key) or
 * --url: over HTTP, as any admin client (/v1/keys, /v1/tenants). Without either: on this host's db
 * (under the data directory, --data, WARMBOX_DATA, or WARMBOX_DATABASE_URL's Postgres), which is
 * how the first admin key is made.
 */
import { CONFIG_DEFAULTS } from '../server/config.js';
import type { HostAdmin } from '../server/host-admin.js';
import { ApiClient } from './api-client.js';

export type AdminTarget = { kind: 'http'; client: ApiClient } | { kind: 'host'; admin: HostAdmin; dataDir: string };

export const ADMIN_TARGET_HELP = `Where it acts:
  With an API key ($WARMBOX_API_KEY or --api-key, an admin key) or --url: over HTTP.
  Without either: directly on the db of the server on this host (--data, $WARMBOX_DATA,
  default ${CONFIG_DEFAULTS.WARMBOX_DATA}), or on $WARMBOX_DATABASE_URL's Postgres when it is set;
  a running server sees the change at once.
  That is how the first admin key is made.

Options of every subcommand:
      --url URL      warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
      --api-key KEY  API key (default: $WARMBOX_API_KEY)
      --data DIR     Data directory of the server on this host (default: $WARMBOX_DATA)`;

export async function adminTarget(values: { url?: string; data?: string }): Promise<AdminTarget> {
  if (values.url !== undefined || process.env.WARMBOX_API_KEY) return { kind: 'http', client: new ApiClient(values.url) };
  const dataDir = values.data ?? (process.env.WARMBOX_DATA || CONFIG_DEFAULTS.WARMBOX_DATA);
  const { HostAdmin } = await import('../server/host-admin.js');
  return { kind: 'host', admin: await HostAdmin.open(dataDir), dataDir };
}

export async function closeTarget(target: AdminTarget): Promise<void> {
  if (target.kind === 'host') await target.admin.close();
}
