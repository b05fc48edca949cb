/**
 * What bench/http.ts measured, summarized, judged against the scenario's thresholds, and written
 * as JSON, Markdown tables and a hand-written SVG chart.
 */
import { markdownTable, summarize, type Summary } from './stats.js';
import type { PhaseRun } from './open-loop.js';
import type { Mode, Scenario, Thresholds } from './scenarios.js';

export interface ThresholdResult {
  name: keyof Thresholds;
  limit: number;
  value: number;
  pass: boolean;
}

export interface ServerTimings {
  queuedMs: Summary;
  pullMs: Summary;
  acquireMs: Summary;
  runMs: Summary;
  totalMs: Summary;
  /** Client latency minus the server's totalMs, per job: HTTP, validation, the db, the wake-up of the waiting request. */
  outsideMs: Summary;
}

export interface RunSummary {
  scenario: string;
  /** The scenario runs what bench/sandbox.ts measures: comparable with its floor. */
  sandboxFloor: boolean;
  mode: Mode;
  image: string;
  cmd: string[];
  /** Jobs per second offered (sent on schedule), over the measured load. */
  offeredRate: number;
  jobs: number;
  /** Taken by the server (answered 200/202); refused: answered 503 `overloaded` (api/overload-gate.ts); finished: answered with a result. */
  accepted: number;
  refused: number;
  finished: number;
  /** Client latency of the accepted jobs only (a refusal answers at once). */
  acceptedLatencyMs: Summary;
  ok: number;
  errors: number;
  /** Answers whose stdout was not the scenario's expectStdout (counted in errors). */
  wrongOutput: number;
  errorRate: number;
  firstErrors: string[];
  warmRatio: number;
  /** Jobs answered ok per second, from the first send to the last answer. */
  throughput: number;
  wallMs: number;
  /** How late the driver sent against its schedule (it must stay near 0 for open-loop numbers to hold). */
  sendLateMs: Summary;
  latencyMs: Summary;
  server: ServerTimings;
  thresholds: ThresholdResult[];
}

/** A throughput threshold allows the window's edges: the last answer comes one latency after the last send. */
const THROUGHPUT_TOLERANCE = 0.98;

export function summarizeRun(scenario: Scenario, mode: Mode, run: PhaseRun, durationS: number): RunSummary {
  const { samples } = run;
  const wrong = (s: (typeof samples)[number]) => scenario.expectStdout !== undefined && s.verdict === 'ok' && s.stdout !== scenario.expectStdout;
  const failed = samples.filter((s) => s.status !== 200 || s.verdict !== 'ok' || wrong(s));
  const refused = samples.filter((s) => s.status === 503 && s.code === 'overloaded');
  const accepted = samples.filter((s) => s.status === 200 || s.status === 202);
  const ok = samples.length - failed.length;
  const timed = samples.filter((s) => s.timings !== undefined);
  const pick = (f: (t: NonNullable<(typeof samples)[number]['timings']>) => number) => summarize(timed.map((s) => f(s.timings!)));
  const summary: RunSummary = {
    scenario: scenario.name,
    sandboxFloor: scenario.sandboxFloor ?? false,
    mode,
    image: scenario.image,
    cmd: scenario.cmd,
    offeredRate: round(samples.length / durationS),
    jobs: samples.length,
    accepted: accepted.length,
    refused: refused.length,
    finished: accepted.filter((s) => s.verdict !== undefined).length,
    acceptedLatencyMs: summarize(accepted.map((s) => s.latencyMs)),
    ok,
    errors: failed.length,
    wrongOutput: samples.filter(wrong).length,
    errorRate: samples.length ? failed.length / samples.length : 1,
    firstErrors: [...new Set(failed.map((s) => s.error ?? (s.verdict !== 'ok' ? `verdict ${s.verdict}` : `stdout ${JSON.stringify(s.stdout)}`)))].slice(0, 5),
    warmRatio: timed.length ? timed.filter((s) => s.start === 'warm').length / timed.length : 0,
    throughput: round(ok / (run.wallMs / 1000)),
    wallMs: round(run.wallMs),
    sendLateMs: summarize(samples.map((s) => s.lateMs)),
    latencyMs: summarize(samples.map((s) => s.latencyMs)),
    server: {
      queuedMs: pick((t) => t.queuedMs),
      pullMs: pick((t) => t.pullMs),
      acquireMs: pick((t) => t.acquireMs),
      runMs: pick((t) => t.runMs),
      totalMs: pick((t) => t.totalMs),
      outsideMs: summarize(timed.map((s) => s.latencyMs - s.timings!.totalMs)),
    },
    thresholds: [],
  };
  summary.thresholds = judge(summary, scenario.thresholds[mode] ?? {});
  return summary;
}

function judge(s: RunSummary, t: Thresholds): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  const atMost = (name: keyof Thresholds, value: number) => t[name] !== undefined && out.push({ name, limit: t[name]!, value: round(value), pass: value <= t[name]! });
  const atLeast = (name: keyof Thresholds, value: number, tolerance = 1) =>
    t[name] !== undefined && out.push({ name, limit: t[name]!, value: round(value), pass: value >= t[name]! * tolerance });
  atMost('p50Ms', s.latencyMs.p50);
  atMost('p99Ms', s.latencyMs.p99);
  atMost('acquireP50Ms', s.server.acquireMs.p50);
  atLeast('minWarmRatio', s.warmRatio);
  atLeast('minThroughput', s.throughput, THROUGHPUT_TOLERANCE);
  atMost('maxErrorRate', s.errorRate);
  return out;
}

/** bench/results/sandbox.json (bench/sandbox.ts): the sandbox layer alone, no HTTP, queue or db. */
export interface SandboxFloor {
  date: string;
  results: Record<'bare' | 'spawn' | 'cold' | 'warm' | 'runc', Summary>;
}

export interface FloorComparison {
  sandboxDate: string;
  rows: { what: string; httpP50: number; floorP50: number; overheadP50: number }[];
}

export function compareWithFloor(runs: RunSummary[], floor: SandboxFloor): FloorComparison {
  const rows: FloorComparison['rows'] = [];
  const runOf = (mode: Mode) => runs.find((r) => r.sandboxFloor && r.mode === mode);
  for (const mode of ['warm', 'cold'] as const) {
    const http = runOf(mode);
    const f = floor.results[mode];
    if (!http || !f) continue;
    const label = `${mode} \`${http.cmd.join(' ')}\``;
    rows.push({ what: `${label}: HTTP job vs the sandbox layer alone`, httpP50: round(http.latencyMs.p50), floorP50: round(f.p50), overheadP50: round(http.latencyMs.p50 - f.p50) });
    const inServer = http.server.acquireMs.p50 + http.server.runMs.p50;
    rows.push({ what: `${label}: server acquire + run (medians) vs the sandbox layer alone`, httpP50: round(inServer), floorP50: round(f.p50), overheadP50: round(inServer - f.p50) });
  }
  const bare = floor.results.bare;
  const warm = runOf('warm');
  if (bare && warm) rows.push({ what: `warm \`${warm.cmd.join(' ')}\` over HTTP vs fork+exec+wait, no sandbox`, httpP50: round(warm.latencyMs.p50), floorP50: round(bare.p50), overheadP50: round(warm.latencyMs.p50 - bare.p50) });
  return { sandboxDate: floor.date, rows };
}

export interface HttpReport {
  date: string;
  host: { cpus: number; node: string; kernel: string };
  quick: boolean;
  topology: string;
  runs: RunSummary[];
  skipped: { scenario: string; note: string }[];
  floor?: FloorComparison;
}

export function markdownReport(r: HttpReport): string {
  const ms = (s: Summary) => [s.p50, s.p90, s.p99, s.max];
  const parts = [
    `# warmbox HTTP benchmark — ${r.date}`,
    '',
    `${r.host.cpus} CPUs, Node ${r.host.node}, Linux ${r.host.kernel}; warmbox as ${r.topology}${r.quick ? ' — **quick run (shortened phases)**' : ''}. ` +
      'Client and server on the same machine, loopback, keep-alive; open loop (jobs sent on schedule, never waiting for earlier answers). ' +
      'Latency: `POST /v1/jobs?wait=true` until the whole answer is read, ms.',
    '',
    '## Latency and throughput',
    '',
    markdownTable(
      ['scenario', 'mode', 'offered/s', 'jobs', 'errors', 'warm', 'p50', 'p90', 'p99', 'max', 'ok jobs/s'],
      r.runs.map((s) => [s.scenario, s.mode, s.offeredRate, s.jobs, s.errors, pct(s.warmRatio), ...ms(s.latencyMs), s.throughput]),
    ),
    '',
    'Refused: answered 503 `overloaded` (the queue past WARMBOX_OVERLOAD_QUEUED or WARMBOX_OVERLOAD_AGE_MS; counted in errors); accepted p99: the latency of the jobs the server took.',
    '',
    markdownTable(
      ['scenario', 'mode', 'accepted', 'refused', 'finished', 'accepted p50', 'accepted p99'],
      r.runs.map((s) => [s.scenario, s.mode, s.accepted, s.refused, s.finished, s.acceptedLatencyMs.p50, s.acceptedLatencyMs.p99]),
    ),
    '',
    '## Where the time goes (server timings, median / p99, ms)',
    '',
    '`queued`: the API recorded the job → a worker started it (db write, BullMQ add, pick-up); `pull`: image reference → stored image; ' +
      '`acquire`: a parked sandbox claimed, or one made (cold); `run`: command sent → result (output, exit status, usage); ' +
      '`outside`: client latency − the server\'s total (HTTP, validation, the wake-up of the waiting request).',
    '',
    markdownTable(
      ['scenario', 'mode', 'queued', 'pull', 'acquire', 'run', 'outside', 'client p50'],
      r.runs.map((s) => [s.scenario, s.mode, pair(s.server.queuedMs), pair(s.server.pullMs), pair(s.server.acquireMs), pair(s.server.runMs), pair(s.server.outsideMs), s.latencyMs.p50]),
    ),
    '',
    '## Thresholds',
    '',
    markdownTable(
      ['scenario', 'mode', 'threshold', 'limit', 'measured', ''],
      r.runs.flatMap((s) => s.thresholds.map((t) => [s.scenario, s.mode, t.name, t.limit, t.value, t.pass ? 'pass' : '**MISSED**'])),
    ),
  ];
  const errors = r.runs.filter((s) => s.errors > 0);
  if (errors.length) parts.push('', '## Errors', '', ...errors.map((s) => `- ${s.scenario}/${s.mode}: ${s.errors} of ${s.jobs} (${s.wrongOutput} with wrong stdout): ${s.firstErrors.join('; ')}`));
  if (r.floor) {
    parts.push(
      '',
      `## Against the floor (bench/results/sandbox.json, ${r.floor.sandboxDate}; p50, ms)`,
      '',
      markdownTable(['what', 'measured', 'floor', 'overhead'], r.floor.rows.map((f) => [f.what, f.httpP50, f.floorP50, f.overheadP50])),
    );
  }
  if (r.skipped.length) parts.push('', '## Skipped', '', ...r.skipped.map((s) => `- ${s.scenario}: ${s.note}`));
  return parts.join('\n') + '\n';
}

const COLORS = { coldP50: '#9ecae1', coldP99: '#3182bd', warmP50: '#fdae6b', warmP99: '#e6550d', queued: '#756bb1', pull: '#bcbddc', acquire: '#31a354', run: '#e6550d', outside: '#969696' };

/**
 * Two panels: p50/p99 cold vs warm per scenario (log scale: a saturated run and a 5 ms one on one
 * chart); and the median job's time split into its parts, each bar the whole median (100%).
 */
export function svgReport(r: HttpReport): string {
  const scenarios = [...new Set(r.runs.map((s) => s.scenario))];
  const W = 880;
  const barW = 24;
  const groupW = Math.min(4 * barW + 60, (W - 120) / Math.max(1, scenarios.length));
  const chartH = 220;
  const top = 50;
  const left = 60;
  const find = (name: string, mode: Mode) => r.runs.find((s) => s.scenario === name && s.mode === mode);
  const lo = 1;
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...r.runs.map((s) => s.latencyMs.p99)))));
  const y = (v: number) => top + chartH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * chartH;
  const out: string[] = [];
  const text = (x: number, yy: number, s: string, attrs = '') => out.push(`<text x="${x.toFixed(1)}" y="${yy.toFixed(1)}" ${attrs}>${escape(s)}</text>`);
  const rect = (x: number, yy: number, w: number, h: number, fill: string, title: string) =>
    out.push(`<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}"><title>${escape(title)}</title></rect>`);

  text(left, 24, "Client latency per job, ms, log scale (POST /v1/jobs?wait=true, open loop at the scenario's rate)", 'font-weight="bold"');
  for (let v = lo; v <= hi; v *= 10) {
    for (const m of [1, 2, 5]) {
      const g = v * m;
      if (g > hi) break;
      out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(g).toFixed(1)}" y2="${y(g).toFixed(1)}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      if (m === 1) text(left - 8, y(g) + 4, String(g), 'text-anchor="end"');
    }
  }
  scenarios.forEach((name, g) => {
    const x0 = left + 20 + g * groupW;
    const bars: [string, number | undefined, string][] = [
      ['cold p50', find(name, 'cold')?.latencyMs.p50, COLORS.coldP50],
      ['cold p99', find(name, 'cold')?.latencyMs.p99, COLORS.coldP99],
      ['warm p50', find(name, 'warm')?.latencyMs.p50, COLORS.warmP50],
      ['warm p99', find(name, 'warm')?.latencyMs.p99, COLORS.warmP99],
    ];
    bars.forEach(([label, v, color], b) => {
      const x = x0 + b * barW;
      if (v === undefined) return;
      rect(x, y(v), barW - 3, top + chartH - y(v), color, `${name} ${label}: ${fmt(v)} ms`);
      text(x + (barW - 3) / 2, y(v) - 3, fmt(v), 'text-anchor="middle" font-size="9"');
    });
    text(x0 + 2 * barW, top + chartH + 16, name, 'text-anchor="middle"');
  });
  legend(out, left, top + chartH + 38, [['cold p50', COLORS.coldP50], ['cold p99', COLORS.coldP99], ['warm p50', COLORS.warmP50], ['warm p99', COLORS.warmP99]]);

  const top2 = top + chartH + 90;
  const rowH = 24;
  const labelW = 130;
  const barSpan = W - 20 - left - labelW - 70;
  text(left, top2 - 16, 'Where the median job\'s time goes (server timings; "outside" = client latency − server total)', 'font-weight="bold"');
  r.runs.forEach((s, i) => {
    const parts: [string, number, string][] = [
      ['queued', s.server.queuedMs.p50, COLORS.queued],
      ['pull', s.server.pullMs.p50, COLORS.pull],
      ['acquire', s.server.acquireMs.p50, COLORS.acquire],
      ['run', s.server.runMs.p50, COLORS.run],
      ['outside', Math.max(0, s.server.outsideMs.p50), COLORS.outside],
    ];
    const total = Math.max(1e-9, parts.reduce((a, [, v]) => a + v, 0));
    const yy = top2 + i * rowH;
    text(left + labelW - 6, yy + 15, `${s.scenario} ${s.mode}`, 'text-anchor="end"');
    let x = left + labelW;
    for (const [name, v, color] of parts) {
      const w = (v / total) * barSpan;
      rect(x, yy + 2, w, rowH - 6, color, `${s.scenario} ${s.mode} ${name}: ${fmt(v)} ms`);
      if (w > 34) text(x + w / 2, yy + 15, fmt(v), 'text-anchor="middle" font-size="10" fill="white"');
      x += w;
    }
    text(x + 6, yy + 15, `${fmt(total)} ms`, 'font-size="11"');
  });
  const H = top2 + r.runs.length * rowH + 40;
  legend(out, left + labelW, H - 16, [['queued', COLORS.queued], ['pull', COLORS.pull], ['acquire', COLORS.acquire], ['run', COLORS.run], ['outside', COLORS.outside]]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function legend(out: string[], x: number, y: number, items: [string, string][]): void {
  items.forEach(([label, color], i) => {
    const lx = x + i * 110;
    out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${lx + 16}" y="${y}">${escape(label)}</text>`);
  });
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function pair(s: Summary): string {
  return `${fmt(s.p50)} / ${fmt(s.p99)}`;
}

function pct(r: number): string {
  return `${Math.round(r * 100)}%`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
