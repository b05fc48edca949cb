/**
 * The process itself in the metrics: CPU time (user and system, as Prometheus client libraries
 * name it) and the event loop's delay, measured by perf_hooks.monitorEventLoopDelay over windows
 * of WINDOW_MS: a scrape reads the last whole window, so what it shows does not depend on how
 * often it is scraped, nor on several readers (Prometheus and OTLP) reading it.
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';

const WINDOW_MS = 10_000;
/** The histogram's sampling timer, in ms; each sample is the timer's whole interval, so it is taken off. */
const RESOLUTION_MS = 10;
const NS_PER_S = 1e9;

export function observeProcess(meter: Meter): () => void {
  const cpu = meter.createObservableCounter('process.cpu.seconds', { description: 'CPU time this process used, by mode (user, system)', unit: 's' });
  cpu.addCallback((r) => {
    const usage = process.cpuUsage();
    r.observe(usage.user / 1e6, { mode: 'user' });
    r.observe(usage.system / 1e6, { mode: 'system' });
  });
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let last: Record<string, number> | undefined; // until the first window ends, the one in progress
  const timer = setInterval(() => {
    last = snapshot(delay);
    delay.reset();
  }, WINDOW_MS).unref();
  const gauge = meter.createObservableGauge('nodejs.eventloop.delay.seconds', {
    description: `Event loop delay over the last ${WINDOW_MS / 1000} s, by stat (p50, p90, p99, max, mean)`,
    unit: 's',
  });
  gauge.addCallback((r) => {
    for (const [stat, value] of Object.entries(last ?? snapshot(delay))) r.observe(value, { stat });
  });
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}

function snapshot(h: ELDHistogram): Record<string, number> {
  // Before the first delay is recorded the histogram reads 0s (and min/max sentinels): report 0.
  if (h.count === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const delay = (ns: number): number => Math.max(0, ns - RESOLUTION_MS * 1e6) / NS_PER_S;
  return { p50: delay(h.percentile(50)), p90: delay(h.percentile(90)), p99: delay(h.percentile(99)), max: delay(h.max), mean: delay(h.mean) };
}
