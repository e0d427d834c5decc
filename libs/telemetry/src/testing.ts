import type { Attributes, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';

/** A finished span as tests look at it. */
export interface RecordedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly status: { readonly code: SpanStatusCode; readonly message?: string };
}

/** A tracer that keeps its finished spans in memory, for tests in any package. */
export interface RecordingTracer {
  readonly tracer: Tracer;
  /** Spans finished so far, oldest first. */
  spans(): RecordedSpan[];
  reset(): void;
}

/**
 * A real SDK tracer recording into memory, not registered globally. For tests that check
 * spans and their parentage; lives here so only this package imports the SDK.
 *
 * @example
 * const recording = createRecordingTracer();
 * const bus = await connectBus({ servers, name: 'test', tracer: recording.tracer });
 */
export function createRecordingTracer(): RecordingTracer {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.BasicTracerProvider({
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });
  return {
    tracer: provider.getTracer('lxr-test'),
    spans: () =>
      exporter.getFinishedSpans().map((span) => ({
        name: span.name,
        kind: span.kind,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
        status: span.status,
      })),
    reset: () => exporter.reset(),
  };
}
