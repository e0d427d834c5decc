import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import {
  ATTR_ERROR_TYPE,
  ATTR_LXR_CORRELATION_ID,
  ATTR_LXR_DELIVERY_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from './attributes.js';
import { withConsumerSpan, withProducerSpan, withReplySpan, withRequestSpan } from './messaging.js';
import {
  currentTraceContext,
  extractTraceContext,
  injectTraceContext,
  traceCarrierOf,
} from './propagation.js';
import { noopTracer } from './tracer.js';

const exporter = new tracing.InMemorySpanExporter();
const provider = new tracing.BasicTracerProvider({
  spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('test');
afterEach(() => exporter.reset());

const subject = 'lxr.events.container.ContainerRequested';
const event = (traceparent?: string) => ({
  type: 'ContainerRequested',
  metadata: {
    eventId: '0190a5c4-0000-7000-8000-000000000001',
    stream: 'container-abc',
    streamVersion: 1,
    position: 7,
    correlationId: 'abc',
    causationId: null,
    ...(traceparent ? { traceparent } : {}),
  },
});
const spanNamed = (name: string) => {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  assert.ok(span, `span "${name}" was recorded`);
  return span;
};

describe('messaging spans', () => {
  it('a producer span injected and extracted yields a child consumer span in the same trace', async () => {
    const headers = await withProducerSpan(event(), subject, async (carrier) => carrier, { tracer });
    assert.match(headers['traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    await withConsumerSpan(event(), subject, async () => {}, {
      tracer,
      carrier: headers,
      consumerGroup: 'image-puller',
      deliveryCount: 2,
    });

    const producer = spanNamed(`send ${subject}`);
    const consumer = spanNamed(`process ${subject}`);
    assert.equal(producer.kind, SpanKind.PRODUCER);
    assert.equal(consumer.kind, SpanKind.CONSUMER);
    assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.equal(producer.attributes[ATTR_MESSAGING_SYSTEM], 'nats');
    assert.equal(producer.attributes[ATTR_MESSAGING_OPERATION_TYPE], 'send');
    assert.equal(consumer.attributes[ATTR_MESSAGING_OPERATION_TYPE], 'process');
    assert.equal(consumer.attributes[ATTR_MESSAGING_DESTINATION_NAME], subject);
    assert.equal(consumer.attributes[ATTR_MESSAGING_MESSAGE_ID], event().metadata.eventId);
    assert.equal(consumer.attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME], 'image-puller');
    assert.equal(consumer.attributes[ATTR_LXR_CORRELATION_ID], 'abc');
    assert.equal(consumer.attributes[ATTR_LXR_DELIVERY_COUNT], 2);
  });

  it('the producer span continues the trace the event was recorded in', async () => {
    const recording = tracer.startSpan('record');
    const recorded = currentTraceContext(trace.setSpan(ROOT_CONTEXT, recording));
    recording.end();
    assert.ok(recorded.traceparent);
    await withProducerSpan(event(recorded.traceparent), subject, async () => {}, { tracer });
    const producer = spanNamed(`send ${subject}`);
    assert.equal(producer.spanContext().traceId, recording.spanContext().traceId);
    assert.equal(producer.parentSpanContext?.spanId, recording.spanContext().spanId);
  });

  it('without message headers the consumer is parented by the event metadata', async () => {
    const parent = tracer.startSpan('gateway');
    const carrier = injectTraceContext({}, trace.setSpan(ROOT_CONTEXT, parent));
    parent.end();
    await withConsumerSpan(event(carrier['traceparent']), subject, async () => {}, { tracer, carrier: {} });
    const consumer = spanNamed(`process ${subject}`);
    assert.equal(consumer.spanContext().traceId, parent.spanContext().traceId);
    assert.equal(consumer.parentSpanContext?.spanId, parent.spanContext().spanId);
  });

  it('a failing handler marks the span as an error with the error code', async () => {
    const failure = Object.assign(new Error('disk full'), { code: 'IMAGE_DISK_FULL' });
    await assert.rejects(
      withConsumerSpan(event(), subject, async () => Promise.reject(failure), { tracer }),
      failure,
    );
    const consumer = spanNamed(`process ${subject}`);
    assert.equal(consumer.status.code, SpanStatusCode.ERROR);
    assert.equal(consumer.attributes[ATTR_ERROR_TYPE], 'IMAGE_DISK_FULL');
    assert.equal(consumer.events[0]?.name, 'exception');
  });

  it('request and reply spans share one trace', async () => {
    await withRequestSpan(subject, (carrier) => withReplySpan(subject, carrier, async () => {}, { tracer }), {
      tracer,
    });
    const request = spanNamed(`request ${subject}`);
    const reply = spanNamed(`process ${subject}`);
    assert.equal(request.kind, SpanKind.CLIENT);
    assert.equal(reply.kind, SpanKind.SERVER);
    assert.equal(reply.parentSpanContext?.spanId, request.spanContext().spanId);
  });

  it('the no-op tracer records nothing but still passes the trace context on', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const headers = await withProducerSpan(event(traceparent), subject, async (carrier) => carrier, {
      tracer: noopTracer,
    });
    assert.equal(headers['traceparent'], traceparent);
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});

describe('trace context propagation', () => {
  it('round-trips traceparent and tracestate through a plain carrier', () => {
    const carrier = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'lxr=1',
    };
    const ctx = extractTraceContext(carrier);
    assert.deepEqual(injectTraceContext({}, ctx), carrier);
    assert.deepEqual(currentTraceContext(ctx), carrier);
  });

  it('ignores an invalid traceparent', () => {
    assert.deepEqual(injectTraceContext({}, extractTraceContext({ traceparent: 'garbage' })), {});
    assert.deepEqual(traceCarrierOf(undefined), {});
  });
});
