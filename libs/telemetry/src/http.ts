import { type Attributes, SpanKind, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_ROUTE } from './attributes.js';
import {
  currentTraceContext,
  extractTraceContext,
  TRACEPARENT,
  TRACESTATE,
  type TraceCarrier,
  type TraceContextFields,
} from './propagation.js';
import { inSpan } from './span.js';
import { noopTracer } from './tracer.js';

/** Request headers as node and fastify give them. */
export type IncomingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Runs `fn` in a SERVER span `<METHOD> <route>` (HTTP semantic conventions), parented by the
 * W3C trace context of the request's headers, and hands it the span's trace context for the
 * events the request records — so a container's creation is one trace from the API call through
 * every service. Without an exporter the span records nothing, but an incoming trace context still
 * flows into the events.
 *
 * @example
 * return withServerSpan('POST', '/v1/containers', request.headers, (trace) => handler.create(body, trace));
 */
export function withServerSpan<T>(
  method: string,
  route: string,
  headers: IncomingHeaders,
  fn: (trace: TraceContextFields) => Promise<T>,
  options: { readonly tracer?: Tracer; readonly attributes?: Attributes } = {},
): Promise<T> {
  const carrier: TraceCarrier = {};
  for (const name of [TRACEPARENT, TRACESTATE]) {
    const value = headers[name];
    if (typeof value === 'string') carrier[name] = value;
  }
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_HTTP_ROUTE]: route,
    ...options.attributes,
  };
  return inSpan(
    options.tracer ?? noopTracer,
    `${method} ${route}`,
    SpanKind.SERVER,
    attributes,
    extractTraceContext(carrier),
    (_span, spanContext) => fn(currentTraceContext(spanContext)),
  );
}
