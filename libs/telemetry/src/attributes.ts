/**
 * Span attribute names and values lxr uses, in one place. The `messaging.*` names follow the
 * OpenTelemetry messaging semantic conventions (copied rather than imported from the
 * `incubating` entry point, as the conventions package recommends for unstable names).
 */

/** `messaging.system`: the messaging system, `nats` for lxr. */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
/** `messaging.destination.name`: the NATS subject. */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
/** `messaging.operation.type`: `send`, `receive`, `process`, … */
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
/** `messaging.operation.name`: the system-specific operation name (`publish`, `process`, `request`). */
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
/** `messaging.message.id`: the event id (also the JetStream `Nats-Msg-Id`). */
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
/** `messaging.message.conversation_id`: the event's correlation id. */
export const ATTR_MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
/** `messaging.message.body.size`: payload size in bytes. */
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
/** `messaging.consumer.group.name`: the durable consumer (or queue group) name. */
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
/** `messaging.client.id`: the NATS connection name. */
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
/** `error.type`: the error's stable code, or its class name when it has none. */
export const ATTR_ERROR_TYPE = 'error.type';

/** `messaging.system` value for NATS. */
export const MESSAGING_SYSTEM_NATS = 'nats';

/** `messaging.operation.type` values. */
export const MessagingOperationType = {
  Send: 'send',
  Receive: 'receive',
  Process: 'process',
  Settle: 'settle',
} as const;
/** One of the {@link MessagingOperationType} values. */
export type MessagingOperationType = (typeof MessagingOperationType)[keyof typeof MessagingOperationType];

/** `lxr.correlation_id`: the container, image or node a flow is about. */
export const ATTR_LXR_CORRELATION_ID = 'lxr.correlation_id';
/** `lxr.causation_id`: the event (or request) that caused this one. */
export const ATTR_LXR_CAUSATION_ID = 'lxr.causation_id';
/** `lxr.event.type`: e.g. `ContainerRequested`. */
export const ATTR_LXR_EVENT_TYPE = 'lxr.event.type';
/** `lxr.event.stream`: the event-log stream, e.g. `container-3f2a…`. */
export const ATTR_LXR_EVENT_STREAM = 'lxr.event.stream';
/** `lxr.event.stream_version`: the stream's version after the event. */
export const ATTR_LXR_EVENT_STREAM_VERSION = 'lxr.event.stream_version';
/** `lxr.event.position`: the event's global position in the log. */
export const ATTR_LXR_EVENT_POSITION = 'lxr.event.position';
/** `lxr.delivery_count`: 1 on first delivery, 2, 3, … on redeliveries. */
export const ATTR_LXR_DELIVERY_COUNT = 'lxr.delivery_count';
/** `lxr.node`: the node (host) a service runs on; a resource attribute. */
export const ATTR_LXR_NODE = 'lxr.node';

/** HTTP semantic conventions (server side). */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_ROUTE = 'http.route';
