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

export interface AppendResult {
  readonly stream: string;
  /** The stream's version after the append: pass it as the next `expectedVersion`. */
  readonly streamVersion: number;
  readonly events: readonly RecordedEvent[];
}

export interface ReadStreamOptions {
  /** First stream version to return (1-based, inclusive); default 1. */
  readonly fromVersion?: number;
  readonly limit?: number;
}

export interface ReadAllOptions {
  /**
   * Return events after the event at this global position, in log order; 0 (the default)
   * starts from the beginning. A position not in the log is an error.
   */
  readonly after?: number;
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
  append(stream: string, expectedVersion: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult>;
  /** Appends to several streams in one transaction: all or nothing. */
  appendMany(requests: readonly AppendRequest[]): Promise<readonly AppendResult[]>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]>;
  /** The stream's current version: 0 when it has no events. */
  streamVersion(stream: string): Promise<number>;
  readAll(options?: ReadAllOptions): Promise<readonly RecordedEvent[]>;
  close(): Promise<void>;
}
