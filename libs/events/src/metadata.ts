/**
 * What every recorded event carries besides its payload.
 *
 * `position` is the event's place in the global log: unique and totally ordered, but the log
 * is read in commit order, so positions are not guaranteed to be read in increasing order —
 * treat a position as an opaque, comparable-by-the-store cursor (see `EventStore.readAll`).
 */
export interface EventMetadata {
  /** Unique id of this event (UUIDv7); the JetStream msgID, so relays are deduplicated by it. */
  readonly eventId: string;
  /** The stream the event belongs to, e.g. `container-3f2a…`. */
  readonly stream: string;
  /** 1-based version of the stream after this event. */
  readonly streamVersion: number;
  /** Global position in the event log; the cursor for `readAll` and SSE `Last-Event-ID`. */
  readonly position: number;
  /** The container, image or node the event is about; ties together one flow. */
  readonly correlationId: string;
  /** The event (or request id) that caused this one, if any. */
  readonly causationId: string | null;
  /** When the event was recorded, ISO 8601 UTC. */
  readonly timestamp: string;
  /** W3C trace context of the span that recorded the event. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** An event as written by a producer, before the store gives it a position. */
export interface NewEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
  /** Schema version of `data`; defaults to the catalog's current version of `type`. */
  readonly schemaVersion?: number;
  /** Optional id, e.g. to make a retried append idempotent; a UUIDv7 is generated otherwise. */
  readonly eventId?: string;
  readonly correlationId: string;
  readonly causationId?: string | null;
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** An event as stored and delivered: payload, schema version and metadata. */
export interface RecordedEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly schemaVersion: number;
  readonly data: D;
  readonly metadata: EventMetadata;
}
