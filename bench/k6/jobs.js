// @ts-check
/* global open, __ENV */
/**
 * k6 (v0.48+) load test of the warmbox job API, over the scenarios of bench/scenarios.json — the
 * same file the Node runner (bench/http.ts) reads; nothing about a scenario is written here.
 * For each scenario and each of its modes, one after the other on k6's clock:
 *   1. set the image's pool bounds (PUT /v1/pools/{image}: cold = max 0, warm = pools on) and let
 *      the pools settle;
 *   2. the warm-up load, not judged (the pools adapt to the rate);
 *   3. the measured load: an arrival-rate executor (open model: a slow answer never delays the
 *      next job), thresholds from the scenario, metrics tagged {bench, mode, phase}.
 *
 *   k6 run -e WARMBOX_URL=http://127.0.0.1:8080 bench/k6/jobs.js
 *   k6 run -e SCENARIOS=trivial,output -e MODES=warm bench/k6/jobs.js
 * Writes a JSON summary to bench/results/k6.json (-e SUMMARY=PATH), relative to where k6 runs.
 */
import { sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';

/** @typedef {'cold' | 'warm'} Mode */
/** @typedef {{ shape: 'constant', rate: number, durationS: number } | { shape: 'ramp', fromRate: number, toRate: number, durationS: number }} LoadShape */
/** @typedef {{ p50Ms?: number, p99Ms?: number, acquireP50Ms?: number, minWarmRatio?: number, minThroughput?: number, maxErrorRate?: number }} Thresholds */
/** @typedef {{ name: string, description: string, image: string, cmd: string[], expectStdout?: string, skipUnless?: string, modes: Mode[], warmup?: LoadShape, load: LoadShape, thresholds: { cold?: Thresholds, warm?: Thresholds } }} Scenario */
/** @typedef {{ poolBounds: Record<Mode, { min: number, max: number }>, settleS: number, scenarios: Scenario[] }} ScenarioFile */
/** @typedef {import('k6/options').Scenario} K6Scenario */

/** @type {ScenarioFile} */
const FILE = JSON.parse(open('../scenarios.json'));
const BASE_URL = __ENV.WARMBOX_URL || 'http://127.0.0.1:8080';
const SUMMARY = __ENV.SUMMARY || 'bench/results/k6.json';
const ONLY = (__ENV.SCENARIOS || '').split(',').filter(Boolean);
const MODES = (__ENV.MODES || 'cold,warm').split(',').filter(Boolean);
const SELECTED = FILE.scenarios.filter((s) => ONLY.length === 0 || ONLY.includes(s.name));
/** A throughput threshold allows the window's edges (as bench/lib/http-report.ts does). */
const THROUGHPUT_TOLERANCE = 0.98;
/** Seconds between one measured phase and the next step: the last answers drain. */
const DRAIN_S = 2;

const acquireMs = new Trend('acquire_ms', true);
const runMs = new Trend('run_ms', true);
const queuedMs = new Trend('queued_ms', true);
const warmStart = new Rate('warm_start');
const jobFailed = new Rate('job_failed');
const jobsOk = new Counter('jobs_ok');

/**
 * @param {LoadShape} shape
 * @param {number} startS
 * @param {Record<string, string>} env
 * @param {Record<string, string>} tags
 * @returns {K6Scenario}
 */
function arrivalScenario(shape, startS, env, tags) {
  const peak = shape.shape === 'constant' ? shape.rate : Math.max(shape.fromRate, shape.toRate);
  // VUs for rate × latency: enough for answers of 100 ms at the peak rate, then more as needed.
  const vus = { preAllocatedVUs: Math.ceil(peak * 0.1) + 5, maxVUs: Math.max(50, peak * 2) };
  const common = { startTime: `${startS}s`, exec: 'job', env, tags, gracefulStop: `${DRAIN_S}s`, timeUnit: '1s' };
  return shape.shape === 'constant'
    ? { executor: 'constant-arrival-rate', rate: shape.rate, duration: `${shape.durationS}s`, ...vus, ...common }
    : { executor: 'ramping-arrival-rate', startRate: shape.fromRate, stages: [{ target: shape.toRate, duration: `${shape.durationS}s` }], ...vus, ...common };
}

/** The whole run: for each scenario and mode, pool bounds → warm-up → measured load, one after the other. */
function plan() {
  /** @type {Record<string, K6Scenario>} */
  const scenarios = {};
  /** @type {Record<string, string[]>} */
  const thresholds = {};
  let at = 0;
  for (const s of SELECTED) {
    for (const mode of s.modes.filter((m) => MODES.includes(m))) {
      const id = `${s.name}-${mode}`;
      const env = { BENCH: s.name, MODE: mode };
      scenarios[`${id}-pools`] = {
        executor: 'per-vu-iterations',
        vus: 1,
        iterations: 1,
        maxDuration: `${FILE.settleS + 1}s`,
        startTime: `${at}s`,
        exec: 'configurePools',
        env,
        tags: { bench: s.name, mode, phase: 'pools' },
      };
      at += FILE.settleS + 1;
      if (s.warmup) {
        scenarios[`${id}-warmup`] = arrivalScenario(s.warmup, at, env, { bench: s.name, mode, phase: 'warmup' });
        at += s.warmup.durationS;
      }
      scenarios[id] = arrivalScenario(s.load, at, env, { bench: s.name, mode, phase: 'measure' });
      at += s.load.durationS + DRAIN_S;
      Object.assign(thresholds, thresholdsOf(s, mode));
    }
  }
  return { scenarios, thresholds };
}

/**
 * k6 thresholds of one scenario and mode, on its measured phase. Every submetric gets one (an
 * always-true one at least) so that handleSummary sees it.
 * @param {Scenario} s
 * @param {Mode} mode
 */
function thresholdsOf(s, mode) {
  const t = s.thresholds[mode] || {};
  const tag = `{bench:${s.name},mode:${mode},phase:measure}`;
  const jobs = s.load.shape === 'constant' ? s.load.rate * s.load.durationS : ((s.load.fromRate + s.load.toRate) / 2) * s.load.durationS;
  return {
    [`http_req_duration${tag}`]: ['max>=0', ...(t.p50Ms !== undefined ? [`med<=${t.p50Ms}`] : []), ...(t.p99Ms !== undefined ? [`p(99)<=${t.p99Ms}`] : [])],
    [`acquire_ms${tag}`]: ['max>=0', ...(t.acquireP50Ms !== undefined ? [`med<=${t.acquireP50Ms}`] : [])],
    [`run_ms${tag}`]: ['max>=0'],
    [`queued_ms${tag}`]: ['max>=0'],
    [`warm_start${tag}`]: [t.minWarmRatio !== undefined ? `rate>=${t.minWarmRatio}` : 'rate>=0'],
    [`job_failed${tag}`]: [t.maxErrorRate !== undefined ? `rate<=${t.maxErrorRate}` : 'rate<=1'],
    [`jobs_ok${tag}`]: [t.minThroughput !== undefined ? `count>=${Math.floor(Math.min(t.minThroughput * s.load.durationS, jobs) * THROUGHPUT_TOLERANCE)}` : 'count>=0'],
  };
}

const PLAN = plan();

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: PLAN.scenarios,
  thresholds: PLAN.thresholds,
  summaryTrendStats: ['min', 'med', 'avg', 'p(90)', 'p(99)', 'max'],
};

/** @param {string} name */
function scenarioNamed(name) {
  const s = FILE.scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name} in bench/scenarios.json`);
  return s;
}

/** @param {string} image @param {{ min: number, max: number }} bounds */
function setPoolBounds(image, bounds) {
  return http.put(`${BASE_URL}/v1/pools/${encodeURIComponent(image)}`, JSON.stringify(bounds), { headers: { 'content-type': 'application/json' }, tags: { phase: 'pools' } });
}

/** Every selected scenario's image must be in the store: stop at once, saying how to go on, if one is not. */
export function setup() {
  const missing = SELECTED.filter((s) => setPoolBounds(s.image, FILE.poolBounds.warm).status === 404);
  if (missing.length > 0) {
    const rest = SELECTED.filter((s) => !missing.includes(s)).map((s) => s.name);
    exec.test.abort(
      `not in the store: ${missing.map((s) => `${s.image} (${s.name}${s.skipUnless ? `: runs when ${s.skipUnless}` : ''})`).join(', ')}; ` +
        `run the others with -e SCENARIOS=${rest.join(',')}`,
    );
  }
}

/** Step 1 of each scenario and mode: the image's pool bounds, then wait (bounded) until the pool shows them. */
export function configurePools() {
  const s = scenarioNamed(__ENV.BENCH);
  const mode = /** @type {Mode} */ (__ENV.MODE);
  const bounds = FILE.poolBounds[mode];
  const res = setPoolBounds(s.image, bounds);
  if (res.status !== 200) exec.test.abort(`PUT /v1/pools/${s.image}: HTTP ${res.status} ${res.body}`);
  const image = /** @type {any} */ (res.json()).image;
  for (let waited = 0; waited < FILE.settleS; waited += 0.1) {
    /** @type {any} */
    const view = http.get(`${BASE_URL}/v1/pools`, { tags: { phase: 'pools' } }).json();
    /** @type {any[]} */
    const pools = view.workers.flatMap((/** @type {any} */ w) => w.pools.filter((/** @type {any} */ p) => p.image === image));
    const settled = pools.length > 0 && pools.every((p) => p.max === bounds.max && (bounds.max === 0 ? p.parked + p.creating === 0 : p.parked >= bounds.min));
    if (settled) return;
    sleep(0.1);
  }
}

/** One job of the scenario (__ENV.BENCH), waited for; its server timings become metrics. */
export function job() {
  const s = scenarioNamed(__ENV.BENCH);
  const res = http.post(`${BASE_URL}/v1/jobs?wait=true&timeout=60000`, JSON.stringify({ image: s.image, cmd: s.cmd }), {
    headers: { 'content-type': 'application/json' },
    timeout: '70s',
  });
  let failed = res.status !== 200;
  if (!failed) {
    /** @type {any} */
    const result = /** @type {any} */ (res.json()).result;
    queuedMs.add(result.timings.queuedMs);
    acquireMs.add(result.timings.acquireMs);
    runMs.add(result.timings.runMs);
    warmStart.add(result.start === 'warm');
    failed = result.verdict !== 'ok' || (s.expectStdout !== undefined && result.stdout !== s.expectStdout);
  }
  jobFailed.add(failed);
  if (!failed) jobsOk.add(1);
}

/**
 * The summary: per scenario and mode, latency, server timings, warm ratio, failures and each
 * threshold's outcome; as JSON in SUMMARY and as a table on stdout.
 * @param {any} data
 */
export function handleSummary(data) {
  /** @type {any[]} */
  const rows = [];
  for (const s of SELECTED) {
    for (const mode of s.modes.filter((m) => MODES.includes(m))) {
      const tag = `{bench:${s.name},mode:${mode},phase:measure}`;
      /** @param {string} name */
      const metric = (name) => data.metrics[`${name}${tag}`];
      const latency = metric('http_req_duration');
      if (!latency) continue;
      const missed = Object.keys(data.metrics)
        .filter((k) => k.endsWith(tag))
        .flatMap((k) => Object.entries(data.metrics[k].thresholds || {}).filter(([, v]) => !(/** @type {any} */ (v).ok)).map(([expr]) => `${k.slice(0, -tag.length)} ${expr}`));
      rows.push({
        scenario: s.name,
        mode,
        latencyMs: { p50: latency.values.med, p90: latency.values['p(90)'], p99: latency.values['p(99)'], max: latency.values.max },
        acquireMsP50: metric('acquire_ms')?.values.med,
        runMsP50: metric('run_ms')?.values.med,
        queuedMsP50: metric('queued_ms')?.values.med,
        warmRatio: metric('warm_start')?.values.rate,
        failedRate: metric('job_failed')?.values.rate,
        jobsOk: metric('jobs_ok')?.values.count,
        okPerSecond: (metric('jobs_ok')?.values.count || 0) / s.load.durationS,
        thresholdsMissed: missed,
      });
    }
  }
  /** @param {number | undefined} v */
  const f = (v) => (v === undefined ? '-' : v.toFixed(2));
  const lines = [
    'scenario   mode  p50 ms  p90 ms  p99 ms  acquire p50  run p50  queued p50  warm  failed  ok/s     missed',
    ...rows.map((r) =>
      [r.scenario.padEnd(10), r.mode.padEnd(5), f(r.latencyMs.p50).padStart(6), f(r.latencyMs.p90).padStart(7), f(r.latencyMs.p99).padStart(7), f(r.acquireMsP50).padStart(12), f(r.runMsP50).padStart(8), f(r.queuedMsP50).padStart(11), f(r.warmRatio).padStart(5), f(r.failedRate).padStart(7), f(r.okPerSecond).padStart(7), '  ' + (r.thresholdsMissed.join('; ') || '-')].join(' '),
    ),
  ];
  return {
    [SUMMARY]: JSON.stringify({ date: new Date().toISOString(), url: BASE_URL, rows, metrics: data.metrics }, null, 2),
    stdout: lines.join('\n') + '\n',
  };
}
