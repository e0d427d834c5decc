import {
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * A plain string map that carries W3C trace context (`traceparent`, `tracestate`): NATS headers
 * copied into an object, or the matching fields of an event's metadata.
 */
export type TraceCarrier = Record<string, string>;

/** The W3C trace-context fields, as event metadata stores them. */
export interface TraceContextFields {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** Header name of the W3C `traceparent` (version, trace id, parent span id, flags). */
export const TRACEPARENT = 'traceparent';
/** Header name of the W3C `tracestate` (vendor-specific trace data). */
export const TRACESTATE = 'tracestate';

// Used directly rather than through the global propagator, so propagation works the same
// whether or not the SDK was started (the API's default global propagator is a no-op).
const propagator = new W3CTraceContextPropagator();

/**
 * Writes the trace context of `ctx` (default: the active context) into `carrier`, and returns it.
 * Writes nothing when there is no valid span context.
 *
 * @example
 * const headers = injectTraceContext({}); // { traceparent: '00-…-…-01' }
 */
export function injectTraceContext(
  carrier: TraceCarrier = {},
  ctx: Context = context.active(),
): TraceCarrier {
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * Reads W3C trace context from `carrier` into a context derived from `base` (default: the root
 * context, so a message's context never mixes with whatever happens to be active).
 */
export function extractTraceContext(carrier: Readonly<TraceCarrier>, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, carrier, defaultTextMapGetter);
}

/**
 * The trace context of `ctx` (default: active) as event metadata fields, for a producer that
 * records an event: `{ traceparent, tracestate }`, or `{}` outside any span.
 */
export function currentTraceContext(ctx: Context = context.active()): TraceContextFields {
  const carrier = injectTraceContext({}, ctx);
  const fields: { traceparent?: string; tracestate?: string } = {};
  if (carrier[TRACEPARENT]) fields.traceparent = carrier[TRACEPARENT];
  if (carrier[TRACESTATE]) fields.tracestate = carrier[TRACESTATE];
  return fields;
}

/** The `traceparent`/`tracestate` of event metadata (or any such object) as a carrier. */
export function traceCarrierOf(fields: TraceContextFields | undefined): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (fields?.traceparent) carrier[TRACEPARENT] = fields.traceparent;
  if (fields?.tracestate) carrier[TRACESTATE] = fields.tracestate;
  return carrier;
}

/** True when `ctx` holds a valid span context (e.g. something was extracted). */
export function hasSpanContext(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && trace.isSpanContextValid(spanContext);
}
