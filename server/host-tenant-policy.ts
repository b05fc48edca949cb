/**
 * A tenant's policy read and written in the server host's database, for `warmbox tenants policy
 * --data DIR` (cli/commands/tenant-policy.ts): checked as PUT /v1/tenants/{id}/policy checks it.
 */
import { join } from 'node:path';
import { checkedPolicy } from '../api/schemas/tenant-policy.js';
import { LOCAL_TENANT_ID, type TenantPolicy } from '../contract/tenant.js';
import { openDatabase } from '../db/client.js';
import { setTenantPolicy } from '../db/tenant-policy.js';
import { findTenantRow } from '../db/tenants.js';

export interface HostTenantPolicies {
  /** The tenant named (id or name) and its policy; throws with what is wrong. */
  read(name: string): { id: string; policy: TenantPolicy };
  /** Checks and stores the policy; returns it as stored. */
  write(id: string, policy: TenantPolicy): TenantPolicy;
  close(): void;
}

export function openHostTenantPolicies(dataDir: string): HostTenantPolicies {
  const handle = openDatabase(join(dataDir, 'warmbox.db'));
  return {
    read(name) {
      if (name === LOCAL_TENANT_ID) throw new Error('the local tenant\'s policy is the server\'s configuration (WARMBOX_TENANT_* variables); see it with: warmbox tenants policy local');
      const row = findTenantRow(handle.db, name);
      if (row === undefined) throw new Error(`no tenant ${JSON.stringify(name)} in ${handle.file}`);
      return { id: row.id, policy: row.policy };
    },
    write(id, policy) {
      const checked = checkedPolicy(policy);
      if (!setTenantPolicy(handle.db, id, checked)) throw new Error(`no tenant ${JSON.stringify(id)} in ${handle.file}`);
      return checked;
    },
    close: () => handle.close(),
  };
}
