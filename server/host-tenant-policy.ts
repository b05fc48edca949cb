/**
 * A tenant's policy read and written in the server host's database (the SQLite file under the
 * data directory, or WARMBOX_DATABASE_URL's Postgres), for `warmbox tenants policy --data DIR`
 * (cli/commands/tenant-policy.ts): checked as PUT /v1/tenants/{id}/policy checks it.
 */
import { checkedPolicy } from '../api/schemas/tenant-policy.js';
import { LOCAL_TENANT_ID, type TenantPolicy } from '../contract/tenant.js';
import { openDatabase } from '../db/client.js';
import { setTenantPolicy } from '../db/tenant-policy.js';
import { findTenantRow } from '../db/tenants.js';
import { hostDatabaseLocation } from './config.js';

export interface HostTenantPolicies {
  /** The tenant named (id or name) and its policy; throws with what is wrong. */
  read(name: string): Promise<{ id: string; policy: TenantPolicy }>;
  /** Checks and stores the policy; returns it as stored. */
  write(id: string, policy: TenantPolicy): Promise<TenantPolicy>;
  close(): Promise<void>;
}

export async function openHostTenantPolicies(dataDir: string): Promise<HostTenantPolicies> {
  const handle = await openDatabase(hostDatabaseLocation(dataDir));
  return {
    async read(name) {
      if (name === LOCAL_TENANT_ID) throw new Error('the local tenant\'s policy is the server\'s configuration (WARMBOX_TENANT_* variables); see it with: warmbox tenants policy local');
      const row = await findTenantRow(handle.db, name);
      if (row === undefined) throw new Error(`no tenant ${JSON.stringify(name)} in ${handle.location}`);
      return { id: row.id, policy: row.policy };
    },
    async write(id, policy) {
      const checked = checkedPolicy(policy);
      if (!(await setTenantPolicy(handle.db, id, checked))) throw new Error(`no tenant ${JSON.stringify(id)} in ${handle.location}`);
      return checked;
    },
    close: () => handle.close(),
  };
}
