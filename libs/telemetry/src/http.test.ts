import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { withServerSpan } from './http.js';
import { createRecordingTracer } from './testing.js';

const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('withServerSpan', () => {
  it('continues the caller trace in a SERVER span and hands its context to the recorded events', async () => {
    const recording = createRecordingTracer();
    const trace = await withServerSpan('POST', '/v1/containers', { traceparent: incoming }, async (t) => t, {
      tracer: recording.tracer,
    });
    const [span] = recording.spans();
    assert.equal(span?.name, 'POST /v1/containers');
    assert.equal(span?.kind, SpanKind.SERVER);
    assert.equal(span?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(span?.parentSpanId, 'b7ad6b7169203331');
    assert.equal(trace.traceparent, `00-${span?.traceId}-${span?.spanId}-01`);
  });

  it('starts a new trace without an incoming one, and passes an incoming one on when not recording', async () => {
    const recording = createRecordingTracer();
    const fresh = await withServerSpan('DELETE', '/v1/containers/:ref', {}, async (t) => t, {
      tracer: recording.tracer,
    });
    assert.match(fresh.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const passed = await withServerSpan('POST', '/v1/containers', { traceparent: incoming }, async (t) => t);
    assert.equal(passed.traceparent, incoming);
  });
});
