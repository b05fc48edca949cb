/**
 * bench/scenarios.json, read and checked: the one definition of the benchmark scenarios that the
 * Node runner (bench/http.ts) and the k6 script (bench/k6/jobs.js, through k6's open()) share.
 * Also the arrival schedule of a load shape, for the Node runner's open-loop driver.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';

export const SCENARIOS_PATH = join(packageRoot(), 'bench', 'scenarios.json');

export const MODES = ['cold', 'warm'] as const;
export type Mode = (typeof MODES)[number];

/** Jobs per second; a constant rate, or a linear ramp between two rates (k6's ramping-arrival-rate). */
export type LoadShape = { shape: 'constant'; rate: number; durationS: number } | { shape: 'ramp'; fromRate: number; toRate: number; durationS: number };

export interface Thresholds {
  /** Client latency (POST /v1/jobs?wait=true until its answer), median and 99th percentile. */
  p50Ms?: number;
  p99Ms?: number;
  /** The server's acquireMs (claiming or making the sandbox), median. */
  acquireP50Ms?: number;
  /** Jobs whose result says `start: "warm"`, at least this share. */
  minWarmRatio?: number;
  /** Jobs answered ok per second of the measured load, at least. */
  minThroughput?: number;
  /** Jobs that failed (HTTP error, verdict not ok, or a wrong stdout), at most this share. */
  maxErrorRate?: number;
}

export interface Scenario {
  name: string;
  description: string;
  image: string;
  cmd: string[];
  expectStdout?: string;
  /** It runs what bench/sandbox.ts measures (busybox `true`): compared with bench/results/sandbox.json. */
  sandboxFloor?: boolean;
  /** When set, the scenario is skipped (with this note) if the image is not in the store. */
  skipUnless?: string;
  modes: Mode[];
  warmup?: LoadShape;
  load: LoadShape;
  thresholds: Partial<Record<Mode, Thresholds>>;
}

export interface ScenarioFile {
  poolBounds: Record<Mode, { min: number; max: number }>;
  /** Seconds given to the pools to fill or drain after their bounds change. */
  settleS: number;
  scenarios: Scenario[];
}

const THRESHOLD_KEYS = ['p50Ms', 'p99Ms', 'acquireP50Ms', 'minWarmRatio', 'minThroughput', 'maxErrorRate'] as const;

export class ScenarioFileError extends Error {
  override name = 'ScenarioFileError';
}

export function loadScenarios(path = SCENARIOS_PATH): ScenarioFile {
  return checkScenarios(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** Checks the parsed file field by field; throws naming every problem. */
export function checkScenarios(data: unknown, source = 'scenarios'): ScenarioFile {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => ok || problems.push(what);
  const file = data as Partial<ScenarioFile>;
  need(isObject(file), 'the file must be a JSON object');
  for (const mode of MODES) {
    const b = file.poolBounds?.[mode];
    need(isObject(b) && isCount(b.min) && isCount(b.max) && b.min <= b.max, `poolBounds.${mode}: expected { min, max }, whole numbers, min <= max`);
  }
  need(file.poolBounds?.cold?.max === 0, 'poolBounds.cold.max must be 0 (no parked sandbox: every start is cold)');
  need(typeof file.settleS === 'number' && file.settleS >= 0, 'settleS: expected seconds >= 0');
  need(Array.isArray(file.scenarios) && file.scenarios.length > 0, 'scenarios: expected a non-empty array');
  const names = new Set<string>();
  for (const [i, s] of (Array.isArray(file.scenarios) ? file.scenarios : []).entries()) {
    const at = `scenarios[${i}]${typeof s?.name === 'string' ? ` (${s.name})` : ''}`;
    if (!isObject(s)) {
      problems.push(`${at}: expected an object`);
      continue;
    }
    need(typeof s.name === 'string' && /^[a-z][a-z0-9-]*$/.test(s.name), `${at}.name: expected lower-case letters, digits and dashes`);
    need(!names.has(s.name), `${at}.name: used twice`);
    names.add(s.name);
    need(typeof s.description === 'string', `${at}.description: expected a string`);
    need(typeof s.image === 'string' && s.image.length > 0, `${at}.image: expected an image reference`);
    need(Array.isArray(s.cmd) && s.cmd.length > 0 && s.cmd.every((a) => typeof a === 'string'), `${at}.cmd: expected a non-empty array of strings`);
    need(s.expectStdout === undefined || typeof s.expectStdout === 'string', `${at}.expectStdout: expected a string`);
    need(s.sandboxFloor === undefined || typeof s.sandboxFloor === 'boolean', `${at}.sandboxFloor: expected true or false`);
    need(s.skipUnless === undefined || typeof s.skipUnless === 'string', `${at}.skipUnless: expected a string`);
    need(Array.isArray(s.modes) && s.modes.length > 0 && s.modes.every((m) => MODES.includes(m)), `${at}.modes: expected some of ${MODES.join(', ')}`);
    if (s.warmup !== undefined) checkShape(s.warmup, `${at}.warmup`, problems);
    checkShape(s.load, `${at}.load`, problems);
    need(isObject(s.thresholds), `${at}.thresholds: expected an object by mode`);
    for (const [mode, t] of Object.entries(isObject(s.thresholds) ? s.thresholds : {})) {
      need(MODES.includes(mode as Mode), `${at}.thresholds.${mode}: not a mode`);
      for (const [k, v] of Object.entries(isObject(t) ? t : {})) {
        need((THRESHOLD_KEYS as readonly string[]).includes(k), `${at}.thresholds.${mode}.${k}: unknown (known: ${THRESHOLD_KEYS.join(', ')})`);
        need(typeof v === 'number' && v >= 0, `${at}.thresholds.${mode}.${k}: expected a number >= 0`);
      }
    }
  }
  if (problems.length > 0) throw new ScenarioFileError(`${source}: ${problems.join('; ')}`);
  return file as ScenarioFile;
}

function checkShape(shape: unknown, at: string, problems: string[]): void {
  const s = shape as Record<string, unknown>;
  const ok =
    isObject(s) &&
    typeof s.durationS === 'number' &&
    s.durationS > 0 &&
    ((s.shape === 'constant' && isRate(s.rate)) || (s.shape === 'ramp' && isRate(s.fromRate) && isRate(s.toRate)));
  if (!ok) problems.push(`${at}: expected { shape: "constant", rate, durationS } or { shape: "ramp", fromRate, toRate, durationS }`);
}

/**
 * When each job of a load shape is sent, in milliseconds from its start: job k goes when the
 * integral of the rate reaches k (a constant rate: every 1/rate s; a linear ramp: the root of
 * fromRate·t + (toRate − fromRate)·t²/2D = k).
 */
export function arrivalOffsetsMs(shape: LoadShape): number[] {
  const d = shape.durationS;
  const [a, b] = shape.shape === 'constant' ? [shape.rate, shape.rate] : [shape.fromRate, shape.toRate];
  const total = Math.floor(((a + b) / 2) * d + 1e-9);
  const offsets: number[] = [];
  for (let k = 0; k < total; k++) {
    const t = a === b ? k / a : (-a + Math.sqrt(a * a + (2 * (b - a) * k) / d)) / ((b - a) / d);
    offsets.push(t * 1000);
  }
  return offsets;
}

/** The jobs a shape sends: rate × duration (the mean rate for a ramp). */
export function jobsOf(shape: LoadShape): number {
  return arrivalOffsetsMs(shape).length;
}

export function peakRate(shape: LoadShape): number {
  return shape.shape === 'constant' ? shape.rate : Math.max(shape.fromRate, shape.toRate);
}

function isObject(v: unknown): v is Record<string, never> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isRate(v: unknown): boolean {
  return typeof v === 'number' && v > 0;
}
