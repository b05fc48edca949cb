// @ts-check
/* global open, __ENV */
/**
 * k6 load test of the warmbox job API, over the scenarios of bench/scenarios.json — the same file
 * the Node runner (bench/http.ts) reads; nothing about a scenario is written here.
 *
 * Needs k6 v0.53 or later (older releases cannot parse object spread or optional chaining; tested
 * with v1.3.0); setup() reads the version from k6's User-Agent and stops on an older one.
 *
 * For each scenario and each of its modes, one after the other on k6's clock:
 *   1. set the image's pool bounds (PUT /v1/pools/{image}: cold = max 0, warm = pools on) and let
 *      the pools settle;
 *   2. the warm-up load, not judged (the pools adapt to the rate);
 *   3. the measured load: an arrival-rate executor (open model: a slow answer never delays the
 *      next job), thresholds from the scenario, metrics tagged {bench, mode, phase};
 *   4. the drain: GET /v1/queue until no job waits or runs, so that the next step starts on an idle
 *      server. k6's schedule is fixed, so the drain has a fixed slot: -e DRAIN_S seconds, by default
 *      long enough for the most jobs the phase can leave (one per VU) at MIN_DRAIN_RATE jobs/s, at
 *      least 10 s. A server that still has jobs at its end stops the test, naming the phase (but
 *      after the last phase, which no phase follows).
 *
 * Failures: a job is failed when its answer is not 200 with verdict ok (and the expected stdout),
 * when k6 never got its answer, and when k6 never sent it — an arrival-rate executor that runs out
 * of VUs drops iterations (`dropped_iterations`) while the server falls behind. All three count
 * against the scenario's maxErrorRate, in the thresholds and in the summary's `failed` column;
 * latency percentiles are over the answered jobs only, so the summary also says how many those were.
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

/** The oldest k6 that runs this script: v0.53 parses object spread and optional chaining. */
const MIN_K6 = [0, 53, 0];
/** @type {ScenarioFile} */
const FILE = JSON.parse(open('../scenarios.json'));
const BASE_URL = __ENV.WARMBOX_URL || 'http://127.0.0.1:8080';
const SUMMARY = __ENV.SUMMARY || 'bench/results/k6.json';
const ONLY = (__ENV.SCENARIOS || '').split(',').filter(Boolean);
const MODES = (__ENV.MODES || 'cold,warm').split(',').filter(Boolean);
const SELECTED = FILE.scenarios.filter((s) => ONLY.length === 0 || ONLY.includes(s.name));
/** A throughput threshold allows the window's edges (as bench/lib/http-report.ts does). */
const THROUGHPUT_TOLERANCE = 0.98;
/**
 * Seconds after each measured phase in which the server must finish its jobs (step 4), when set;
 * else drainSecondsOf() the phase's load. Answers that come in this slot still count for the phase
 * (its executor's gracefulStop), as bench/http.ts waits for every answer.
 */
const DRAIN_S = __ENV.DRAIN_S ? Number(__ENV.DRAIN_S) : undefined;
if (DRAIN_S !== undefined && !(DRAIN_S >= 1)) throw new Error(`DRAIN_S must be a number of seconds >= 1, not ${JSON.stringify(__ENV.DRAIN_S)}`);
/** The slowest server (jobs/s) the default drain slot waits for: each VU may leave one job behind. */
const MIN_DRAIN_RATE = 20;
const MIN_DRAIN_S = 10;

const acquireMs = new Trend('acquire_ms', true);
const runMs = new Trend('run_ms', true);
const queuedMs = new Trend('queued_ms', true);
const drainMs = new Trend('drain_ms', true);
const warmStart = new Rate('warm_start');
/** Of the jobs answered: true when the answer was not a 200 with verdict ok (and the expected output). */
const jobFailed = new Rate('job_failed');
/** Every job sent, counted before its request: sent − answered = jobs k6 gave up on. */
const jobsSent = new Counter('jobs_sent');
const jobsOk = new Counter('jobs_ok');

/**
 * VUs for rate × latency: enough for answers of 100 ms at the peak rate, then more as needed.
 * Beyond maxVUs k6 drops iterations: counted as failed jobs (dropped_iterations).
 * @param {LoadShape} shape
 */
function vusOf(shape) {
  const peak = shape.shape === 'constant' ? shape.rate : Math.max(shape.fromRate, shape.toRate);
  return { preAllocatedVUs: Math.ceil(peak * 0.1) + 5, maxVUs: Math.max(50, peak * 2) };
}

/** @param {LoadShape} shape */
function drainSecondsOf(shape) {
  return DRAIN_S ?? Math.max(MIN_DRAIN_S, Math.ceil(vusOf(shape).maxVUs / MIN_DRAIN_RATE));
}

/**
 * @param {LoadShape} shape
 * @param {number} startS
 * @param {Record<string, string>} env
 * @param {Record<string, string>} tags
 * @returns {K6Scenario}
 */
function arrivalScenario(shape, startS, env, tags) {
  const vus = vusOf(shape);
  const common = { startTime: `${startS}s`, exec: 'job', env, tags, gracefulStop: `${drainSecondsOf(shape)}s`, timeUnit: '1s' };
  return shape.shape === 'constant'
    ? { executor: 'constant-arrival-rate', rate: shape.rate, duration: `${shape.durationS}s`, ...vus, ...common }
    : { executor: 'ramping-arrival-rate', startRate: shape.fromRate, stages: [{ target: shape.toRate, duration: `${shape.durationS}s` }], ...vus, ...common };
}

/**
 * One VU, one iteration of `fn` at `startS`, stopped after `seconds`.
 * @param {string} fn @param {number} startS @param {number} seconds @param {Record<string, string>} env @param {Record<string, string>} tags
 * @returns {K6Scenario}
 */
function stepScenario(fn, startS, seconds, env, tags) {
  return { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: `${seconds}s`, startTime: `${startS}s`, exec: fn, env, tags };
}

/** @param {LoadShape} shape */
function plannedJobs(shape) {
  return shape.shape === 'constant' ? shape.rate * shape.durationS : ((shape.fromRate + shape.toRate) / 2) * shape.durationS;
}

/** The whole run: for each scenario and mode, pool bounds → warm-up → measured load → drain, one after the other. */
function plan() {
  /** @type {Record<string, K6Scenario>} */
  const scenarios = {};
  /** @type {Record<string, string[]>} */
  const thresholds = {};
  const phases = SELECTED.flatMap((s) => s.modes.filter((m) => MODES.includes(m)).map((mode) => ({ s, mode })));
  let at = 0;
  for (const [i, { s, mode }] of phases.entries()) {
    const id = `${s.name}-${mode}`;
    const drainS = drainSecondsOf(s.load);
    const env = { BENCH: s.name, MODE: mode, PHASE_ID: id, PHASE_DRAIN_S: String(drainS), LAST: i === phases.length - 1 ? '1' : '' };
    /** @param {string} phase */
    const tags = (phase) => ({ bench: s.name, mode, phase });
    scenarios[`${id}-pools`] = stepScenario('configurePools', at, FILE.settleS + 1, env, tags('pools'));
    at += FILE.settleS + 1;
    if (s.warmup) {
      scenarios[`${id}-warmup`] = arrivalScenario(s.warmup, at, env, tags('warmup'));
      at += s.warmup.durationS;
    }
    scenarios[id] = arrivalScenario(s.load, at, env, tags('measure'));
    at += s.load.durationS;
    scenarios[`${id}-drain`] = stepScenario('drain', at, drainS, env, tags('drain'));
    at += drainS;
    Object.assign(thresholds, thresholdsOf(s, mode, id));
  }
  return { scenarios, thresholds };
}

/** The metrics of a measured phase carry these tags (k6's own dropped_iterations only `scenario`). */
function measureTag(/** @type {string} */ name, /** @type {string} */ mode) {
  return `{bench:${name},mode:${mode},phase:measure}`;
}

/**
 * k6 thresholds of one scenario and mode, on its measured phase. Every submetric gets one (an
 * always-true one at least) so that handleSummary sees it.
 * @param {Scenario} s
 * @param {Mode} mode
 * @param {string} id the measured phase's k6 scenario
 */
function thresholdsOf(s, mode, id) {
  const t = s.thresholds[mode] || {};
  const tag = measureTag(s.name, mode);
  const jobs = plannedJobs(s.load);
  // maxErrorRate bounds the failed share of the planned jobs; dropped ones are failed jobs too.
  const maxFailed = t.maxErrorRate !== undefined ? Math.floor(t.maxErrorRate * jobs) : undefined;
  return {
    [`http_req_duration${tag}`]: ['max>=0', ...(t.p50Ms !== undefined ? [`med<=${t.p50Ms}`] : []), ...(t.p99Ms !== undefined ? [`p(99)<=${t.p99Ms}`] : [])],
    [`acquire_ms${tag}`]: ['max>=0', ...(t.acquireP50Ms !== undefined ? [`med<=${t.acquireP50Ms}`] : [])],
    [`run_ms${tag}`]: ['max>=0'],
    [`queued_ms${tag}`]: ['max>=0'],
    [`warm_start${tag}`]: [t.minWarmRatio !== undefined ? `rate>=${t.minWarmRatio}` : 'rate>=0'],
    [`job_failed${tag}`]: [t.maxErrorRate !== undefined ? `rate<=${t.maxErrorRate}` : 'rate<=1'],
    [`jobs_sent${tag}`]: ['count>=0'],
    [`dropped_iterations{scenario:${id}}`]: [maxFailed !== undefined ? `count<=${maxFailed}` : 'count>=0'],
    [`jobs_ok${tag}`]: [t.minThroughput !== undefined ? `count>=${Math.floor(Math.min(t.minThroughput * s.load.durationS, jobs) * THROUGHPUT_TOLERANCE)}` : 'count>=0'],
    [`drain_ms{bench:${s.name},mode:${mode},phase:drain}`]: ['max>=0'],
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

/**
 * k6's version as [major, minor, patch], from the User-Agent it sent ('Grafana k6/1.3.0', before
 * v1 'k6/0.53.0 (https://k6.io/)'); undefined when --user-agent replaced it.
 * @param {import('k6/http').RefinedResponse<any>} res
 */
function k6VersionOf(res) {
  const ua = [res.request.headers['User-Agent'] || []].flat().join(' ');
  const m = /\bk6\/(\d+)\.(\d+)\.(\d+)/.exec(ua);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** @param {number[]} a @param {number[]} b */
function olderThan(a, b) {
  for (let i = 0; i < 3; i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) < (b[i] || 0);
  return false;
}

/**
 * Before the first step: a k6 new enough; a server with GET /v1/queue and nothing in it; every
 * selected scenario's image in the store — else stop at once, saying how to go on.
 */
export function setup() {
  const queue = http.get(`${BASE_URL}/v1/queue`, { tags: { phase: 'setup' } });
  const version = k6VersionOf(queue); // unknown when --user-agent replaced it: not checked then
  if (version !== undefined && olderThan(version, MIN_K6)) exec.test.abort(`k6 v${version.join('.')} is too old: this script needs k6 v${MIN_K6.join('.')} or later`);
  if (queue.status !== 200) exec.test.abort(`GET ${BASE_URL}/v1/queue: HTTP ${queue.status} ${queue.body}: the drain between phases needs a warmbox server that has it`);
  waitUntilIdle('the run started', MIN_DRAIN_S, true);

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
  jobsSent.add(1);
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

/** Step 4 of each scenario and mode: the server finishes what the measured load left (bounded by its slot). */
export function drain() {
  const started = Date.now();
  if (waitUntilIdle(`${__ENV.PHASE_ID} ended`, Number(__ENV.PHASE_DRAIN_S), __ENV.LAST !== '1')) drainMs.add(Date.now() - started);
}

/**
 * Polls GET /v1/queue until no job waits or runs (true), for at most `seconds` (false); then, with
 * `abortIfBusy`, stops the test, since the next step would measure the backlog.
 * @param {string} since what the wait follows, for the message
 * @param {number} seconds
 * @param {boolean} abortIfBusy
 */
function waitUntilIdle(since, seconds, abortIfBusy) {
  const deadline = Date.now() + (seconds - 0.5) * 1000;
  for (;;) {
    const res = http.get(`${BASE_URL}/v1/queue`, { tags: { phase: 'drain' } });
    if (res.status !== 200) exec.test.abort(`GET /v1/queue: HTTP ${res.status} ${res.body}`);
    const counts = /** @type {{ queued: number, running: number }} */ (res.json());
    if (counts.queued === 0 && counts.running === 0) return true;
    if (Date.now() >= deadline) {
      if (!abortIfBusy) return false;
      exec.test.abort(
        `the server still had ${counts.queued} queued and ${counts.running} running jobs ${seconds} s after ${since}; ` +
          'the next phase would measure them: give it longer with -e DRAIN_S=<seconds>',
      );
    }
    sleep(0.1);
  }
}

/**
 * The summary: per scenario and mode, latency, server timings, warm ratio, failures (failed answers,
 * jobs never answered, iterations k6 dropped) and each threshold's outcome; as JSON in SUMMARY and as
 * a table on stdout.
 * @param {any} data
 */
export function handleSummary(data) {
  /** @type {any[]} */
  const rows = [];
  for (const s of SELECTED) {
    for (const mode of s.modes.filter((m) => MODES.includes(m))) {
      const id = `${s.name}-${mode}`;
      const tag = measureTag(s.name, mode);
      /** @param {string} name */
      const metric = (name) => data.metrics[`${name}${tag}`];
      const latency = metric('http_req_duration');
      const sent = metric('jobs_sent')?.values.count || 0;
      if (!latency && sent === 0) continue;
      const answered = metric('job_failed')?.values;
      const failedAnswers = answered?.passes || 0;
      const answeredCount = failedAnswers + (answered?.fails || 0);
      const dropped = data.metrics[`dropped_iterations{scenario:${id}}`]?.values.count || 0;
      const failed = failedAnswers + (sent - answeredCount) + dropped;
      const missed = Object.keys(data.metrics)
        .filter((k) => k.endsWith(tag) || k === `dropped_iterations{scenario:${id}}`)
        .flatMap((k) => Object.entries(data.metrics[k].thresholds || {}).filter(([, v]) => !(/** @type {any} */ (v).ok)).map(([expr]) => `${k.replace(tag, '')} ${expr}`));
      rows.push({
        scenario: s.name,
        mode,
        jobs: { planned: plannedJobs(s.load), sent, answered: answeredCount, failedAnswers, unanswered: sent - answeredCount, dropped, failed },
        latencyMs: latency && { p50: latency.values.med, p90: latency.values['p(90)'], p99: latency.values['p(99)'], max: latency.values.max },
        acquireMsP50: metric('acquire_ms')?.values.med,
        runMsP50: metric('run_ms')?.values.med,
        queuedMsP50: metric('queued_ms')?.values.med,
        warmRatio: metric('warm_start')?.values.rate,
        failedRate: failed / Math.max(1, sent + dropped),
        jobsOk: metric('jobs_ok')?.values.count || 0,
        okPerSecond: (metric('jobs_ok')?.values.count || 0) / s.load.durationS,
        drainMs: data.metrics[`drain_ms{bench:${s.name},mode:${mode},phase:drain}`]?.values.max,
        thresholdsMissed: missed,
      });
    }
  }
  /** @param {number | undefined} v */
  const f = (v) => (v === undefined ? '-' : v.toFixed(2));
  const lines = [
    'scenario   mode  p50 ms  p90 ms  p99 ms  acquire p50  run p50  queued p50  warm   jobs  answered  dropped  failed  ok/s  drain s     missed',
    ...rows.map((r) =>
      [
        r.scenario.padEnd(10),
        r.mode.padEnd(5),
        f(r.latencyMs?.p50).padStart(6),
        f(r.latencyMs?.p90).padStart(7),
        f(r.latencyMs?.p99).padStart(7),
        f(r.acquireMsP50).padStart(12),
        f(r.runMsP50).padStart(8),
        f(r.queuedMsP50).padStart(11),
        f(r.warmRatio).padStart(5),
        String(r.jobs.sent + r.jobs.dropped).padStart(6),
        String(r.jobs.answered).padStart(9),
        String(r.jobs.dropped).padStart(8),
        f(r.failedRate).padStart(7),
        f(r.okPerSecond).padStart(7),
        (r.drainMs === undefined ? 'no' : (r.drainMs / 1000).toFixed(1)).padStart(8),
        '  ' + (r.thresholdsMissed.join('; ') || '-'),
      ].join(' '),
    ),
    '(latency percentiles are over the answered jobs; failed = (failed answers + unanswered + dropped) / jobs; drain s: until the server was idle, "no": not within the slot)',
  ];
  return {
    [SUMMARY]: JSON.stringify({ date: new Date().toISOString(), url: BASE_URL, rows, metrics: data.metrics }, null, 2),
    stdout: lines.join('\n') + '\n',
  };
}
