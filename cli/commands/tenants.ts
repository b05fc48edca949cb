/** `warmbox tenants create|list|delete`: who API keys act for (README "Tenants and keys"). */
import { parseArgs } from 'node:util';
import type { TenantView } from '../../server/host-admin.js';
import { ADMIN_TARGET_HELP } from '../admin-target.js';
import { formatTable } from '../table.js';
import { UsageError } from '../units.js';
import { withTarget } from './keys.js';

export const TENANTS_HELP = `Usage: warmbox tenants COMMAND [OPTIONS]

Make, list and delete tenants. Every job and trigger belongs to one; a key sees only its
tenant's (an admin key sees every tenant's). A new tenant is unrestricted.

Commands:
  create NAME        Make a tenant; prints its id
  list [--json]      List the tenants
  delete ID|NAME     Delete a tenant with its keys and triggers (its finished jobs stay);
                     refused while it has queued or running jobs
  policy NAME [...]  Show or change what the tenant may do (see warmbox tenants policy --help)

${ADMIN_TARGET_HELP}`;

const COMMON = { url: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export async function tenantsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    console.log(TENANTS_HELP);
    return sub === undefined ? 1 : 0;
  }
  if (sub === 'policy') return (await import('./tenant-policy.js')).tenantPolicyCommand(rest);
  const { values, positionals } = parseArgs({ args: rest, options: { ...COMMON, json: { type: 'boolean' } }, allowPositionals: true });
  if (values.help) {
    console.log(TENANTS_HELP);
    return 0;
  }
  const one = (): string => {
    if (positionals.length !== 1) throw new UsageError(`tenants ${sub} takes one tenant (see warmbox tenants --help)`);
    return positionals[0]!;
  };
  switch (sub) {
    case 'create': {
      const name = one();
      const tenant = await withTarget(values, (t) => (t.kind === 'host' ? t.admin.createTenant(name) : t.client.request<TenantView>('POST', '/v1/tenants', { name })));
      console.log(values.json ? JSON.stringify(tenant, null, 2) : tenant.id);
      return 0;
    }
    case 'list': {
      const tenants = await withTarget(values, async (t) => (t.kind === 'host' ? t.admin.listTenants() : (await t.client.request<{ tenants: TenantView[] }>('GET', '/v1/tenants')).tenants));
      console.log(values.json ? JSON.stringify(tenants, null, 2) : formatTable([['ID', 'NAME', 'CREATED'], ...tenants.map((t) => [t.id, t.name, t.createdAt])]));
      return 0;
    }
    case 'delete': {
      const tenant = one();
      await withTarget(values, (t) => (t.kind === 'host' ? t.admin.deleteTenant(tenant) : t.client.request('DELETE', `/v1/tenants/${encodeURIComponent(tenant)}`)));
      console.log(tenant);
      return 0;
    }
    default:
      throw new UsageError(`unknown tenants command ${JSON.stringify(sub)} (see warmbox tenants --help)`);
  }
}
