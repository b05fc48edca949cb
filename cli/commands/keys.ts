/** `warmbox keys create|list|revoke`: API keys (README "Tenants and keys"). */
import { parseArgs } from 'node:util';
import { DEFAULT_KEY_SCOPES, SCOPES, type Scope } from '../../contract/api-key.js';
import type { KeyView } from '../../api/schemas/keys.js';
import { ADMIN_TARGET_HELP, adminTarget, closeTarget, type AdminTarget } from '../admin-target.js';
import { formatTable } from '../table.js';
import { parseDuration, UsageError } from '../units.js';

export const KEYS_HELP = `Usage: warmbox keys COMMAND [OPTIONS]

Make, list and revoke API keys: bearer tokens that act for one tenant, within their scopes.

Commands:
  create --tenant NAME [--scope SCOPE]... [--name TEXT] [--expires-in DURATION]
         Make a key and print its token on stdout, once: warmbox keeps only a hash of it.
         --tenant takes a tenant's name or id (local: the built-in tenant).
         --scope: ${SCOPES.join(', ')} (repeat it, or separate with commas;
         default ${DEFAULT_KEY_SCOPES.join(',')}). admin grants every scope, for every tenant.
         --expires-in: e.g. 720h, or seconds (2592000). Default: never.
  list [--tenant NAME] [--json]
         List the keys (never their tokens), revoked ones too.
  revoke ID
         Refuse the key from now on.

${ADMIN_TARGET_HELP}`;

const COMMON = { url: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    console.log(KEYS_HELP);
    return sub === undefined ? 1 : 0;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined) throw new UsageError(`unknown keys command ${JSON.stringify(sub)} (see warmbox keys --help)`);
  return run(rest);
}

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  create: async (args) => {
    const { values } = parseArgs({
      args,
      options: { ...COMMON, tenant: { type: 'string' }, scope: { type: 'string', multiple: true }, name: { type: 'string' }, 'expires-in': { type: 'string' }, json: { type: 'boolean' } },
    });
    if (values.help) return help();
    if (values.tenant === undefined) throw new UsageError('keys create needs --tenant NAME (local: the built-in tenant; warmbox tenants create NAME makes one)');
    const request = {
      tenant: values.tenant,
      ...(values.name !== undefined && { name: values.name }),
      ...(values.scope !== undefined && { scopes: scopesOf(values.scope) }),
      ...(values['expires-in'] !== undefined && { expiresInSeconds: Math.ceil(parseDuration(values['expires-in'], '--expires-in') / 1000) }),
    };
    const key = await withTarget(values, (t) => (t.kind === 'host' ? t.admin.createKey(request) : t.client.request<KeyView & { token: string }>('POST', '/v1/keys', request)));
    if (values.json) console.log(JSON.stringify(key, null, 2));
    else {
      console.log(key.token);
      process.stderr.write(`API key ${key.id} for tenant ${key.tenantId} (${key.scopes.join(', ')}): the token above is shown this once; store it now.\n`);
    }
    return 0;
  },
  list: async (args) => {
    const { values } = parseArgs({ args, options: { ...COMMON, tenant: { type: 'string' }, json: { type: 'boolean' } } });
    if (values.help) return help();
    const query = values.tenant === undefined ? '' : `?tenant=${encodeURIComponent(values.tenant)}`;
    const keys = await withTarget(values, async (t) => (t.kind === 'host' ? t.admin.listKeys(values.tenant) : (await t.client.request<{ keys: KeyView[] }>('GET', `/v1/keys${query}`)).keys));
    console.log(values.json ? JSON.stringify(keys, null, 2) : keyTable(keys));
    return 0;
  },
  revoke: async (args) => {
    const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true });
    if (values.help) return help();
    if (positionals.length !== 1) throw new UsageError('keys revoke takes one key ID (see warmbox keys list)');
    const id = positionals[0]!;
    await withTarget(values, (t) => (t.kind === 'host' ? t.admin.revokeKey(id) : t.client.request('DELETE', `/v1/keys/${encodeURIComponent(id)}`)));
    console.log(id);
    return 0;
  },
};

function help(): number {
  console.log(KEYS_HELP);
  return 0;
}

function scopesOf(values: string[]): Scope[] {
  const scopes = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new UsageError(`--scope: unknown scope ${JSON.stringify(s)} (one of ${SCOPES.join(', ')})`);
  return [...new Set(scopes)] as Scope[];
}

export async function withTarget<T>(values: { url?: string; data?: string }, act: (target: AdminTarget) => T | Promise<T>): Promise<T> {
  const target = await adminTarget(values);
  try {
    return await act(target);
  } finally {
    await closeTarget(target);
  }
}

function keyTable(keys: KeyView[]): string {
  const rows = [['ID', 'TENANT', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'STATE']];
  for (const k of keys) {
    const state = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active';
    rows.push([k.id, k.tenantId, k.name ?? '', k.scopes.join(','), k.createdAt, k.lastUsedAt ?? '-', state]);
  }
  return formatTable(rows);
}
