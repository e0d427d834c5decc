import type { NewEvent, RecordedEvent } from '@lxr/events';
import {
  type PreparedRequest,
  prepareAppend,
  recordEvent,
  replayCandidateIds,
  replayResults,
  satisfies,
} from '../append-request.js';
import {
  DuplicateEventIdError,
  EventStoreClosedError,
  UnknownPositionError,
  WrongExpectedVersionError,
} from '../errors.js';
import type {
  AppendRequest,
  AppendResult,
  EventStore,
  ExpectedVersion,
  ReadAllOptions,
  ReadStreamOptions,
} from '../event-store.js';

/**
 * An {@link EventStore} held in process memory, with the PostgreSQL store's semantics (the same
 * contract suite runs against both). Appends are applied synchronously, so the log is always in
 * commit order and positions increase. For unit tests and single-process tools; nothing survives
 * the process.
 *
 * @example
 * const store = createInMemoryEventStore();
 * await store.append('container-1', 'no-stream', [{ type: 'ContainerRequested', data, correlationId: '1' }]);
 */
export interface InMemoryEventStore extends EventStore {
  /**
   * Calls `listener` after each successful append (synchronously, after the events are visible),
   * as LISTEN/NOTIFY does for the PostgreSQL store. Returns the unsubscribe function.
   */
  onAppend(listener: (events: readonly RecordedEvent[]) => void): () => void;
}

/** Creates an empty {@link InMemoryEventStore}. */
export function createInMemoryEventStore(): InMemoryEventStore {
  // Positions are 1, 2, 3, …: the event at position p is log[p - 1].
  const log: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const eventIds = new Map<string, RecordedEvent>();
  const listeners = new Set<(events: readonly RecordedEvent[]) => void>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new EventStoreClosedError('in-memory event store');
  };
  const versionOf = (stream: string) => streams.get(stream)?.length ?? 0;

  function conflictOrReplay(
    requests: readonly PreparedRequest[],
  ): readonly AppendResult[] | Error | undefined {
    let firstError: Error | undefined;
    for (const request of requests) {
      const current = versionOf(request.stream);
      if (!satisfies(request.expectedVersion, current)) {
        firstError ??= new WrongExpectedVersionError(request.stream, request.expectedVersion, current);
        continue;
      }
      const duplicate = request.events.find((e) => eventIds.has(e.eventId));
      if (duplicate) firstError ??= new DuplicateEventIdError(duplicate.eventId, request.stream);
    }
    if (!firstError) return undefined;
    const recorded = replayCandidateIds(requests)?.flatMap((id) => eventIds.get(id) ?? []);
    return (recorded && replayResults(requests, recorded)) ?? firstError;
  }

  async function appendMany(requests: readonly AppendRequest[]): Promise<readonly AppendResult[]> {
    ensureOpen();
    const prepared = prepareAppend(requests);
    // Yield once, as a real store would: concurrent callers interleave here, and the check and write
    // below run without a suspension point, which makes them atomic.
    await Promise.resolve();
    ensureOpen();
    const outcome = conflictOrReplay(prepared);
    if (outcome instanceof Error) throw outcome;
    if (outcome) return outcome;

    const timestamp = new Date().toISOString();
    const appended: RecordedEvent[] = [];
    const results = prepared.map((request) => {
      const stream = streams.get(request.stream) ?? [];
      const events = request.events.map((event) => {
        const recorded = recordEvent(request.stream, event, stream.length + 1, log.length + 1, timestamp);
        stream.push(recorded);
        log.push(recorded);
        eventIds.set(recorded.metadata.eventId, recorded);
        return recorded;
      });
      if (stream.length > 0) streams.set(request.stream, stream);
      appended.push(...events);
      return { stream: request.stream, streamVersion: stream.length, events };
    });
    if (appended.length > 0) for (const listener of listeners) listener(appended);
    return results;
  }

  return {
    async append(stream: string, expectedVersion: ExpectedVersion, events: readonly NewEvent[]) {
      const [result] = await appendMany([{ stream, expectedVersion, events }]);
      return result!;
    },
    appendMany,
    async readStream(stream: string, options: ReadStreamOptions = {}) {
      ensureOpen();
      const from = Math.max(1, options.fromVersion ?? 1);
      const events = streams.get(stream) ?? [];
      return events.slice(from - 1, options.limit === undefined ? undefined : from - 1 + options.limit);
    },
    async streamVersion(stream: string) {
      ensureOpen();
      return versionOf(stream);
    },
    async readAll(options: ReadAllOptions = {}) {
      ensureOpen();
      const start = options.after ?? 0;
      if (start !== 0 && log[start - 1]?.metadata.position !== start) throw new UnknownPositionError(start);
      return log.slice(start, options.limit === undefined ? undefined : start + options.limit);
    },
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
