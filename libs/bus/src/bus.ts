import type { LxrRecordedEvent, RecordedEvent } from '@lxr/events';

/** Context handed to an event handler with each delivery. */
export interface DeliveryContext {
  /** 1 on first delivery, then 2, 3, … on redeliveries. */
  readonly deliveryCount: number;
  /** JetStream stream sequence of the message. */
  readonly streamSequence: number;
}

export interface SubscribeOptions {
  /** Durable consumer name, e.g. the service name; survives restarts. */
  readonly durable: string;
  /** Subject filter, e.g. `lxr.events.container.>`; default every event. */
  readonly filterSubject?: string;
  /**
   * Handles one validated event. Resolving acks it; throwing naks it with backoff; after
   * `maxDeliver` attempts (or at once for an event that fails validation) it goes to the
   * dead-letter stream and is terminated.
   */
  readonly handler: (event: LxrRecordedEvent, context: DeliveryContext) => Promise<void>;
  /** Attempts before dead-lettering; default 5. */
  readonly maxDeliver?: number;
  /** Redelivery delays in ms, one per attempt (the last repeats); default 100 ms, 1 s, 5 s, 30 s. */
  readonly backoffMs?: readonly number[];
  /** Messages in flight at once; default 1, which keeps stream order. */
  readonly concurrency?: number;
}

export interface Subscription {
  /** Stops pulling, lets in-flight handlers finish (and ack), then resolves. */
  drain(): Promise<void>;
}

/**
 * The event bus over NATS JetStream: one stream `LXR_EVENTS` with subjects `lxr.events.>`,
 * messages deduplicated by event id (`Nats-Msg-Id`), trace context in the headers.
 */
export interface EventBus {
  /** Publishes a recorded event and waits for JetStream's ack; a duplicate event id is a no-op. */
  publish(event: RecordedEvent): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Request/reply for queries: sends `payload` as JSON and returns the JSON reply. */
  request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T>;
  /** Answers requests on `subject`; a thrown error becomes an error reply. */
  reply(subject: string, handler: (payload: unknown) => Promise<unknown>): Subscription;
  /** Drains every subscription and the connection. */
  close(): Promise<void>;
}
