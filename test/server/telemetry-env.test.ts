/** Which standard OpenTelemetry variables turn tracing and OTLP metrics on (server/telemetry-env.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricExportersWanted, sdkDisabled, tracingWanted } from '../../server/telemetry-env.js';

describe('tracingWanted', () => {
  it('is off without any OTEL_* variable: tracing costs nothing unless asked for', () => {
    assert.equal(tracingWanted({}), false);
  });
  it('is on when OTEL_TRACES_EXPORTER names an exporter, off for none', () => {
    assert.equal(tracingWanted({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
    assert.equal(tracingWanted({ OTEL_TRACES_EXPORTER: 'console, otlp' }), true);
    assert.equal(tracingWanted({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), false);
  });
  it('is on when an OTLP endpoint is given (otlp is the default exporter)', () => {
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4318/v1/metrics' }), false);
  });
});

describe('metricExportersWanted', () => {
  it('pushes nothing without any OTEL_* variable (GET /metrics is always there)', () => {
    assert.deepEqual(metricExportersWanted({}), { exporters: [], unknown: [] });
  });
  it('takes otlp and console, treats prometheus as GET /metrics, and reports the rest', () => {
    assert.deepEqual(metricExportersWanted({ OTEL_METRICS_EXPORTER: 'otlp,prometheus,console,statsd' }), { exporters: ['otlp', 'console'], unknown: ['statsd'] });
    assert.deepEqual(metricExportersWanted({ OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), { exporters: [], unknown: [] });
  });
  it('pushes over OTLP when only an OTLP endpoint is given', () => {
    assert.deepEqual(metricExportersWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).exporters, ['otlp']);
  });
});

describe('sdkDisabled', () => {
  it('reads OTEL_SDK_DISABLED=true (any case) only', () => {
    assert.equal(sdkDisabled({ OTEL_SDK_DISABLED: 'TRUE' }), true);
    assert.equal(sdkDisabled({ OTEL_SDK_DISABLED: '1' }), false);
    assert.equal(sdkDisabled({}), false);
  });
});
