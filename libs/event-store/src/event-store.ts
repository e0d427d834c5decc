import type { NewEvent, RecordedEvent } from '@lxr/events';

/**
 * What the writer expects of the stream before its append:
 * a version number (the stream's current version; 0 = the stream has no events),
 * `'no-stream'` (same as 0), `'exists'` (at least one event) or `'any'`.
 */
export type ExpectedVersion = number | 'no-stream' | 'exists' | 'any';

/** One stream's part of an append. */
export interface AppendRequest {
  readonly stream: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

/** What an append recorded for one stream. */
export interface AppendResult {
  readonly stream: string;
  /** The stream's version after the append: pass it as the next `expectedVersion`. */
  readonly streamVersion: number;
  readonly events: readonly RecordedEvent[];
}

/** Paging through one stream, by stream version. */
export interface ReadStreamOptions {
  /** First stream version to return (1-based, inclusive); default 1. */
  readonly fromVersion?: number;
  readonly limit?: number;
}

/** Paging through the whole log, in commit order. */
export interface ReadAllOptions {
  /**
   * Return events after the event at this global position, in log order; 0 (the default)
   * starts from the beginning. A position not in the log is an error (`UnknownPositionError`).
   * Pass the `metadata.position` of the last event read: positions are cursors, and the log is
   * read in commit order, which is not always numeric order (position 7 may come before 6).
   * Resume only from positions `readAll` (or a projection, or the relay) returned: the position an
   * `append` returns can be ahead of events still committing, which `readAll` would place before it.
   */
  readonly after?: number;
  /** At most this many events; all that are visible when absent. */
  readonly limit?: number;
}

/**
 * The event log. Appends are atomic and optimistic (a stale `expectedVersion` throws
 * `WrongExpectedVersionError`); `readAll` never skips an event, even when transactions that
 * took earlier positions commit after later ones.
 *
 * @example
 * const { streamVersion } = await store.append('container-ab12…', 'no-stream', [event]);
 */
export interface EventStore {
  /**
   * Appends events to one stream if it is at `expectedVersion`, filling each event's metadata
   * (`eventId` — a UUIDv7 unless given —, `streamVersion`, `position`, `timestamp`). Appending the
   * same writer-chosen event ids again is recognised as a retry and returns the recorded events.
   */
  append(
    stream: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult>;
  /** Appends to several streams in one transaction: all or nothing. */
  appendMany(requests: readonly AppendRequest[]): Promise<readonly AppendResult[]>;
  /** The stream's events in version order; `[]` for a stream with no events. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]>;
  /** The stream's current version: 0 when it has no events. */
  streamVersion(stream: string): Promise<number>;
  /**
   * The whole log after a position, **in commit order, not numeric position order**: an event is
   * returned only once every transaction that could still commit before it has ended, so a reader
   * that resumes from the last position it saw never skips an event. Throws
   * `UnknownPositionError` for an `after` that is no event's position.
   */
  readAll(options?: ReadAllOptions): Promise<readonly RecordedEvent[]>;
  /** Waits for appends in flight, then releases connections; later calls throw `EventStoreClosedError`. */
  close(): Promise<void>;
}
