export * from './bus.js';
export * from './errors.js';
export * from './logger.js';
export {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_DELIVER,
} from './nats/consumer-config.js';
export { DlqHeader } from './nats/headers.js';
export { type ConnectBusOptions, connectBus, type NatsBus } from './nats/nats-bus.js';
/** The JSON body of every reply to `request`. */
export type { ReplyEnvelope } from './nats/request-reply.js';
export { type NatsServerOptions, natsServerOptions, redactServerUrl } from './nats/server-urls.js';
export {
  DLQ_MAX_AGE_MS,
  DLQ_STREAM,
  DLQ_SUBJECT_PREFIX,
  dlqSubject,
  type EnsureStreamsOptions,
  EVENTS_DUPLICATE_WINDOW_MS,
  ensureStreams,
} from './nats/streams.js';
