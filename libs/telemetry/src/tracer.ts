import { ProxyTracerProvider, type Tracer } from '@opentelemetry/api';

/**
 * A tracer that records nothing, whatever the global OpenTelemetry setup: the default of every
 * instrumented lxr component. Spans it starts are non-recording but still carry their parent's
 * trace context, so propagation keeps working through code that was given no tracer.
 */
export const noopTracer: Tracer = new ProxyTracerProvider().getTracer('lxr-noop');
