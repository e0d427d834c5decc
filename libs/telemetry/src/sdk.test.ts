import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTelemetry } from './sdk.js';

// No OTEL_* variable is expected in the test environment; the SDK reads process.env.
describe('startTelemetry', () => {
  it('exports nothing unless OTEL_*_EXPORTER says so, and shuts down cleanly', async () => {
    const telemetry = await startTelemetry({ serviceName: 'test', serviceVersion: '1.0.0' });
    assert.deepEqual(telemetry.exporting, { traces: false, metrics: false, logs: false });
    const span = telemetry.tracer.startSpan('nothing');
    assert.equal(span.isRecording(), false);
    span.end();
    await telemetry.shutdown();
    await telemetry.shutdown();
  });

  it('reads which signals to export from the environment', async () => {
    const saved = { ...process.env };
    process.env['OTEL_TRACES_EXPORTER'] = 'console';
    process.env['OTEL_METRICS_EXPORTER'] = 'none';
    try {
      const telemetry = await startTelemetry({ serviceName: 'test' });
      assert.deepEqual(telemetry.exporting, { traces: true, metrics: false, logs: false });
      await telemetry.shutdown();
    } finally {
      process.env = saved;
    }
  });
});
