/** `warmbox status`: a running server at a glance, like `docker info` (GET /v1/system/status). */
import { parseArgs } from 'node:util';
import type { z } from '@hono/zod-openapi';
import type { systemStatusSchema } from '../../api/schemas/system-status.js';
import { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';
import { UsageError } from '../units.js';

export const STATUS_HELP = `Usage: warmbox status [OPTIONS]

Show a running warmbox server at a glance, like docker info: the API process (version, uptime),
whether it is ready (each check of GET /readyz: redis, db, and where a worker runs beside the API,
launcher and cgroups), the workers (id, host, pid, concurrency, running jobs, last heartbeat,
versions), parked sandboxes per image, and the queue (queued, running, oldest wait).

Exits 0 when the server is ready, 1 when it answers but is not ready, 125 when it cannot be reached.

Options:
      --format FORMAT   table (default) or json (the answer of GET /v1/system/status)
      --url URL         warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help            Show this help`;

/** The answer of GET /v1/system/status, typed from the schema the API documents it with. */
type SystemStatus = z.infer<typeof systemStatusSchema>;

const FORMATS = ['table', 'json'] as const;

export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { format: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`"warmbox status" takes no arguments (see warmbox status --help)`);
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: expected ${FORMATS.join(' or ')}, got ${JSON.stringify(format)}`);
  const client = new ApiClient(values.url);
  const status = await client.request<SystemStatus>('GET', '/v1/system/status');
  console.log(format === 'json' ? JSON.stringify(status, null, 2) : formatStatus(status, client.baseUrl));
  if (status.readiness.status === 'ready') return 0;
  const failing = status.readiness.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error ?? 'failed'}`);
  process.stderr.write(`warmbox: the server at ${client.baseUrl} is not ready (${failing.join('; ')})\n`);
  return 1;
}

export function formatStatus(s: SystemStatus, url: string, now = Date.now()): string {
  const lines = [
    `Server: ${url}`,
    ` Version: warmbox ${s.api.versions.warmbox}`,
    ` Uptime: ${formatDuration(s.api.uptimeS * 1000)}`,
    ` API process: pid ${s.api.pid} on ${s.api.hostname}`,
    ` Node: ${s.api.versions.node}`,
    ` Kernel: ${s.api.versions.kernel}`,
    `Ready: ${s.readiness.status === 'ready' ? 'yes' : 'NO'}`,
    indent(formatTable([['CHECK', 'STATUS', 'TIME', 'ERROR'], ...s.readiness.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILING', `${c.ms.toFixed(1)}ms`, c.error ?? ''])])),
    `Queue: ${s.queue ? `${s.queue.queued} queued, ${s.queue.running} running, oldest waiting ${s.queue.oldestQueuedAgeMs === null ? '-' : formatDuration(s.queue.oldestQueuedAgeMs)}` : 'unavailable (Redis)'}`,
    ...workerLines(s, now),
    ...poolLines(s),
  ];
  return lines.join('\n');
}

function workerLines(s: SystemStatus, now: number): string[] {
  if (s.workers === null) return ['Workers: unavailable (Redis)'];
  if (s.workers.length === 0) return ['Workers: 0 (start one with `warmbox server` or `warmbox worker`)'];
  const rows = s.workers.map((w) => [
    w.id,
    w.hostname,
    String(w.pid),
    String(w.concurrency),
    w.runningJobs === null ? '-' : String(w.runningJobs),
    String(w.parked),
    `${formatDuration(Math.max(0, now - w.lastHeartbeat))} ago`,
    w.versions ? `${w.versions.warmbox} / ${w.versions.node} / ${w.versions.kernel} / ${w.versions.cgroup}` : '-',
  ]);
  return [`Workers: ${s.workers.length}`, indent(formatTable([['ID', 'HOST', 'PID', 'CONCURRENCY', 'RUNNING', 'PARKED', 'LAST HEARTBEAT', 'WARMBOX / NODE / KERNEL / CGROUP'], ...rows]))];
}

function poolLines(s: SystemStatus): string[] {
  if (s.pools === null) return ['Pools: unavailable (Redis)'];
  if (s.pools.length === 0) return ['Pools: none'];
  const rows = s.pools.map((p) => [p.image.replace(/^docker\.io\/library\//, ''), p.creating > 0 ? `${p.parked}+${p.creating}` : String(p.parked), String(p.workers)]);
  return [`Pools: ${s.pools.length}`, indent(formatTable([['IMAGE', 'PARKED', 'WORKERS'], ...rows]))];
}

function indent(block: string): string {
  return block
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** 850ms, 12s, 3m12s, 2h05m, 3d04h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}
