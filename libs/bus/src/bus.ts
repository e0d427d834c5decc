import type { LxrRecordedEvent, RecordedEvent } from '@lxr/events';

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /**
   * Store the event only if the stream's last message is this event id (JetStream
   * `expect.lastMsgID`). A relay publishing many events at once chains each to the one before,
   * so when one fails every later one fails too and the stream's order never breaks.
   * A duplicate (an event id already stored) is acknowledged whatever this says.
   */
  readonly expectLastEventId?: string;
}

/** Context handed to an event handler with each delivery. */
export interface DeliveryContext {
  /** 1 on first delivery, then 2, 3, … on redeliveries. */
  readonly deliveryCount: number;
  /** JetStream stream sequence of the message. */
  readonly streamSequence: number;
  /** The subject the event arrived on, e.g. `lxr.events.container.ContainerRequested`. */
  readonly subject: string;
}

/**
 * The durable consumer name of a per-node service (`executor-node1`): node names may hold dots,
 * which a durable name may not, so each becomes `_`.
 */
export function nodeDurable(service: string, node: string): string {
  return `${service}-${node.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** What {@link EventBus.subscribe} needs: a durable name, a handler and how to retry it. */
export interface SubscribeOptions {
  /**
   * Durable consumer name, e.g. the service name; survives restarts. Letters, digits, `-` and
   * `_` only: it is also the last token of the dead-letter subject `lxr.dlq.<durable>`.
   */
  readonly durable: string;
  /**
   * Subject filter, e.g. `lxr.events.container.>`; default every event. Fixed when the durable is
   * first created: changing it later needs a new durable name.
   */
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
  /**
   * Messages in flight at once; default 1, which keeps stream order — also across retries: a
   * failing event holds back the ones after it until it succeeds or is dead-lettered.
   */
  readonly concurrency?: number;
  /**
   * How long the server waits for an ack before redelivering, default 5 s. A running handler
   * keeps its message (the bus reports progress), so this only matters when a process dies: then
   * its events, and those JetStream handed to its last pull, go to the next instance this soon.
   */
  readonly ackWaitMs?: number;
}

/** A running subscription (event consumer or request responder). */
export interface Subscription {
  /** Stops pulling, lets in-flight handlers finish (and ack), then resolves. */
  drain(): Promise<void>;
}

/** Options of {@link EventBus.reply}. */
export interface ReplyOptions {
  /**
   * Queue group: each request is answered by one member. Default `lxr`, so every instance of
   * a service answering the same subject shares the load.
   */
  readonly queue?: string;
}

/**
 * The event bus over NATS JetStream: one stream `LXR_EVENTS` with subjects `lxr.events.>`,
 * messages deduplicated by event id (`Nats-Msg-Id`), trace context in the headers; events that
 * cannot be handled end in `LXR_DLQ` on `lxr.dlq.<durable>`.
 *
 * @example
 * const sub = await bus.subscribe({
 *   durable: 'image-puller',
 *   filterSubject: contextSubject('container'),
 *   handler: async (event) => { if (event.type === 'ContainerRequested') await pull(event.data.image); },
 * });
 * // on shutdown:
 * await bus.close(); // drains `sub` first
 */
export interface EventBus {
  /** Publishes a recorded event and waits for JetStream's ack; a duplicate event id is a no-op. */
  publish(event: RecordedEvent, options?: PublishOptions): Promise<void>;
  /** Creates (or updates) the durable consumer and starts handling events. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Request/reply for queries: sends `payload` as JSON and returns the JSON reply. Throws a
   * `RemoteError` carrying the responder's error code when the responder failed.
   */
  request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T>;
  /** Answers requests on `subject`; a thrown error becomes an error reply. */
  reply(
    subject: string,
    handler: (payload: unknown) => Promise<unknown>,
    options?: ReplyOptions,
  ): Subscription;
  /** Drains every subscription and the connection. */
  close(): Promise<void>;
}
