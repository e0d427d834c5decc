/** OpenTelemetry API types, re-exported so instrumented code needs no direct dependency. */
export type { Context, Span, Tracer } from '@opentelemetry/api';
export * from './attributes.js';
export * from './http.js';
export * from './messaging.js';
export * from './propagation.js';
export * from './sdk.js';
export * from './span.js';
export * from './tracer.js';
