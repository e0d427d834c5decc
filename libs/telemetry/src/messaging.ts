import { type Attributes, type Context, context, type Span, SpanKind, type Tracer } from '@opentelemetry/api';
import {
  ATTR_LXR_CAUSATION_ID,
  ATTR_LXR_CORRELATION_ID,
  ATTR_LXR_DELIVERY_COUNT,
  ATTR_LXR_EVENT_POSITION,
  ATTR_LXR_EVENT_STREAM,
  ATTR_LXR_EVENT_STREAM_VERSION,
  ATTR_LXR_EVENT_TYPE,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_NATS,
  MessagingOperationType,
} from './attributes.js';
import {
  extractTraceContext,
  hasSpanContext,
  injectTraceContext,
  type TraceCarrier,
  traceCarrierOf,
} from './propagation.js';
import { inSpan } from './span.js';
import { noopTracer } from './tracer.js';

/**
 * The parts of a recorded event that tracing reads. `RecordedEvent` of `@lxr/events` fits it;
 * it is spelled out here so this package depends on nothing of lxr's.
 */
export interface TracedEvent {
  readonly type: string;
  readonly metadata: {
    readonly eventId: string;
    readonly correlationId: string;
    readonly causationId?: string | null;
    readonly stream?: string;
    readonly streamVersion?: number;
    readonly position?: number;
    readonly traceparent?: string;
    readonly tracestate?: string;
  };
}

/** Options shared by the messaging span helpers. */
export interface MessagingSpanOptions {
  /** The tracer to record with; default {@link noopTracer}. */
  readonly tracer?: Tracer;
  /** The NATS connection name (`messaging.client.id`). */
  readonly clientId?: string;
  /** Payload size in bytes (`messaging.message.body.size`). */
  readonly bodySize?: number;
}

/** Options of {@link withConsumerSpan}. */
export interface ConsumerSpanOptions extends MessagingSpanOptions {
  /** The durable consumer name (`messaging.consumer.group.name`). */
  readonly consumerGroup?: string;
  /**
   * Trace context that came with the message (its NATS headers). When it holds none, the
   * event's own `metadata.traceparent` is the parent.
   */
  readonly carrier?: Readonly<TraceCarrier>;
  /** 1 on first delivery, then 2, 3, … */
  readonly deliveryCount?: number;
}

/** What tells the four messaging spans apart. */
interface Operation {
  readonly kind: SpanKind;
  /** The span is named `<verb> <subject>`. */
  readonly verb: string;
  readonly type: MessagingOperationType;
  /** `messaging.operation.name`. */
  readonly name: string;
}

const PUBLISH: Operation = {
  kind: SpanKind.PRODUCER,
  verb: 'send',
  type: MessagingOperationType.Send,
  name: 'publish',
};
const PROCESS: Operation = {
  kind: SpanKind.CONSUMER,
  verb: 'process',
  type: MessagingOperationType.Process,
  name: 'process',
};
const REQUEST: Operation = {
  kind: SpanKind.CLIENT,
  verb: 'request',
  type: MessagingOperationType.Send,
  name: 'request',
};
const REPLY: Operation = {
  kind: SpanKind.SERVER,
  verb: 'process',
  type: MessagingOperationType.Process,
  name: 'reply',
};

/** Runs `fn` in the span of one messaging operation on `subject`, with every attribute it has. */
function inMessagingSpan<T>(
  operation: Operation,
  subject: string,
  event: TracedEvent | undefined,
  parent: Context,
  options: Omit<ConsumerSpanOptions, 'carrier'>,
  fn: (span: Span, spanContext: Context) => Promise<T>,
): Promise<T> {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_NATS,
    [ATTR_MESSAGING_DESTINATION_NAME]: subject,
    [ATTR_MESSAGING_OPERATION_TYPE]: operation.type,
    [ATTR_MESSAGING_OPERATION_NAME]: operation.name,
  };
  if (event) {
    const { metadata } = event;
    attributes[ATTR_MESSAGING_MESSAGE_ID] = metadata.eventId;
    attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = metadata.correlationId;
    attributes[ATTR_LXR_EVENT_TYPE] = event.type;
    attributes[ATTR_LXR_CORRELATION_ID] = metadata.correlationId;
    if (metadata.causationId) attributes[ATTR_LXR_CAUSATION_ID] = metadata.causationId;
    if (metadata.stream !== undefined) attributes[ATTR_LXR_EVENT_STREAM] = metadata.stream;
    if (metadata.streamVersion !== undefined) {
      attributes[ATTR_LXR_EVENT_STREAM_VERSION] = metadata.streamVersion;
    }
    if (metadata.position !== undefined) attributes[ATTR_LXR_EVENT_POSITION] = metadata.position;
  }
  if (options.clientId !== undefined) attributes[ATTR_MESSAGING_CLIENT_ID] = options.clientId;
  if (options.bodySize !== undefined) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = options.bodySize;
  if (options.consumerGroup !== undefined) {
    attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = options.consumerGroup;
  }
  if (options.deliveryCount !== undefined) attributes[ATTR_LXR_DELIVERY_COUNT] = options.deliveryCount;
  return inSpan(
    options.tracer ?? noopTracer,
    `${operation.verb} ${subject}`,
    operation.kind,
    attributes,
    parent,
    fn,
  );
}

/**
 * Runs `fn` in a PRODUCER span `send <subject>` for publishing `event`, handing it a carrier
 * with the span's trace context to put in the message headers. The span's parent is the trace
 * context the event was recorded under (`metadata.traceparent`), or the active context when the
 * event carries none, so a relayed event stays in the trace of the request that recorded it.
 *
 * @example
 * await withProducerSpan(event, subject, (headers) => js.publish(subject, data, { headers: toNats(headers) }), { tracer });
 */
export function withProducerSpan<T>(
  event: TracedEvent,
  subject: string,
  fn: (carrier: TraceCarrier, span: Span) => Promise<T>,
  options: MessagingSpanOptions = {},
): Promise<T> {
  const recorded = extractTraceContext(traceCarrierOf(event.metadata), context.active());
  const parent = hasSpanContext(recorded) ? recorded : context.active();
  return inMessagingSpan(PUBLISH, subject, event, parent, options, (span, ctx) =>
    fn(injectTraceContext({}, ctx), span),
  );
}

/**
 * Runs `fn` in a CONSUMER span `process <subject>` for handling `event`. Its parent is the trace
 * context that came with the message (`options.carrier`, i.e. the producer span), falling back
 * to the event's `metadata.traceparent`; so one container's creation is one trace across services.
 */
export function withConsumerSpan<T>(
  event: TracedEvent,
  subject: string,
  fn: (span: Span) => Promise<T>,
  options: ConsumerSpanOptions = {},
): Promise<T> {
  let parent = extractTraceContext(options.carrier ?? {});
  if (!hasSpanContext(parent)) parent = extractTraceContext(traceCarrierOf(event.metadata));
  return inMessagingSpan(PROCESS, subject, event, parent, options, fn);
}

/**
 * Runs `fn` in a CLIENT span `request <subject>` (NATS request/reply), handing it a carrier with
 * the span's trace context for the request headers. Parent: the active context.
 */
export function withRequestSpan<T>(
  subject: string,
  fn: (carrier: TraceCarrier, span: Span) => Promise<T>,
  options: MessagingSpanOptions = {},
): Promise<T> {
  return inMessagingSpan(REQUEST, subject, undefined, context.active(), options, (span, ctx) =>
    fn(injectTraceContext({}, ctx), span),
  );
}

/**
 * Runs `fn` in a SERVER span `process <subject>` answering a request, parented by the trace
 * context of the request's headers (`carrier`).
 */
export function withReplySpan<T>(
  subject: string,
  carrier: Readonly<TraceCarrier>,
  fn: (span: Span) => Promise<T>,
  options: MessagingSpanOptions & { readonly consumerGroup?: string } = {},
): Promise<T> {
  return inMessagingSpan(REPLY, subject, undefined, extractTraceContext(carrier), options, fn);
}
