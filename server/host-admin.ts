/**
 * `warmbox keys` and `warmbox tenants` on the server host, without a key: they work on the db
 * under the data directory, beside a running server (SQLite takes both). That is how the first
 * admin key is made. The rules are the API's (api/tenant-admin.ts), and so are the views.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { listApiKeys } from '../db/api-keys.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { listTenantRows } from '../db/tenants.js';
import { toKeyView } from '../api/routes/keys.js';
import { toTenantView } from '../api/routes/tenants.js';
import type { KeyView } from '../api/schemas/keys.js';
import { issueKey, makeTenant, removeTenant, revokeKey, tenantIdOr404, type KeyRequest } from '../api/tenant-admin.js';

export type TenantView = ReturnType<typeof toTenantView>;

export class HostAdmin {
  private constructor(private readonly handle: DatabaseHandle) {}

  static open(dataDir: string): HostAdmin {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new HostAdmin(openDatabase(join(dataDir, 'warmbox.db')));
  }

  createKey(request: KeyRequest): KeyView & { token: string } {
    const { row, token } = issueKey(this.handle.db, request);
    return { ...toKeyView(row), token };
  }

  listKeys(tenant?: string): KeyView[] {
    return listApiKeys(this.handle.db, tenant === undefined ? undefined : tenantIdOr404(this.handle.db, tenant)).map(toKeyView);
  }

  revokeKey(id: string): void {
    revokeKey(this.handle.db, id);
  }

  createTenant(name: string): TenantView {
    return toTenantView(makeTenant(this.handle.db, name));
  }

  listTenants(): TenantView[] {
    return listTenantRows(this.handle.db).map(toTenantView);
  }

  deleteTenant(idOrName: string): void {
    removeTenant(this.handle.db, idOrName);
  }

  close(): void {
    this.handle.close();
  }
}
