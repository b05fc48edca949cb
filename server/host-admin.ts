/**
 * `warmbox keys` and `warmbox tenants` on the server host, without a key: they work on the db
 * (the SQLite file under the data directory, or WARMBOX_DATABASE_URL's Postgres), beside a running
 * server (both take several processes). That is how the first
 * admin key is made. The rules are the API's (api/tenant-admin.ts), and so are the views.
 */
import { mkdirSync } from 'node:fs';
import { listApiKeys } from '../db/api-keys.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { hostDatabaseLocation } from './config.js';
import { listTenantRows } from '../db/tenants.js';
import { toKeyView } from '../api/routes/keys.js';
import { toTenantView } from '../api/routes/tenants.js';
import type { KeyView } from '../api/schemas/keys.js';
import { issueKey, makeTenant, removeTenant, revokeKey, tenantIdOr404, type KeyRequest } from '../api/tenant-admin.js';

export type TenantView = ReturnType<typeof toTenantView>;

export class HostAdmin {
  private constructor(private readonly handle: DatabaseHandle) {}

  static async open(dataDir: string): Promise<HostAdmin> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new HostAdmin(await openDatabase(hostDatabaseLocation(dataDir)));
  }

  async createKey(request: KeyRequest): Promise<KeyView & { token: string }> {
    const { row, token } = await issueKey(this.handle.db, request);
    return { ...toKeyView(row), token };
  }

  async listKeys(tenant?: string): Promise<KeyView[]> {
    const tenantId = tenant === undefined ? undefined : await tenantIdOr404(this.handle.db, tenant);
    return (await listApiKeys(this.handle.db, tenantId)).map(toKeyView);
  }

  async revokeKey(id: string): Promise<void> {
    await revokeKey(this.handle.db, id);
  }

  async createTenant(name: string): Promise<TenantView> {
    return toTenantView(await makeTenant(this.handle.db, name));
  }

  async listTenants(): Promise<TenantView[]> {
    return (await listTenantRows(this.handle.db)).map(toTenantView);
  }

  async deleteTenant(idOrName: string): Promise<void> {
    await removeTenant(this.handle.db, idOrName);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
