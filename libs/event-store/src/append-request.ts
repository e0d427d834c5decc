import {
  currentSchemaVersion,
  isKnownEventType,
  type NewEvent,
  type RecordedEvent,
  uuidv7,
} from '@lxr/events';
import { InvalidAppendError } from './errors.js';
import type { AppendRequest, AppendResult, ExpectedVersion } from './event-store.js';

/**
 * Helpers both stores share, so they agree on validation, defaults and expected-version rules.
 * Not exported from the package.
 */

/** A new event with every default filled in. */
export interface PreparedEvent {
  readonly eventId: string;
  /** True when the writer chose the id, which makes a retried append recognisable as a replay. */
  readonly eventIdGiven: boolean;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
}

export interface PreparedRequest {
  readonly stream: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly PreparedEvent[];
}

/** Validates an append (one or many streams) and fills event ids and schema versions. */
export function prepareAppend(requests: readonly AppendRequest[]): PreparedRequest[] {
  const streams = new Set<string>();
  const ids = new Set<string>();
  return requests.map((request) => {
    const { stream, expectedVersion } = request;
    if (typeof stream !== 'string' || stream === '')
      throw new InvalidAppendError('stream name must be a non-empty string');
    if (streams.has(stream)) {
      throw new InvalidAppendError(
        `stream "${stream}" appears twice in one appendMany; merge its events into one request`,
      );
    }
    streams.add(stream);
    checkExpectedVersion(stream, expectedVersion);
    if (!Array.isArray(request.events))
      throw new InvalidAppendError(`events for stream "${stream}" must be an array`);
    const events = request.events.map((event) => {
      const prepared = prepareEvent(stream, event);
      if (ids.has(prepared.eventId)) {
        throw new InvalidAppendError(`event id ${prepared.eventId} appears twice in one append`);
      }
      ids.add(prepared.eventId);
      return prepared;
    });
    return { stream, expectedVersion, events };
  });
}

function prepareEvent(stream: string, event: NewEvent): PreparedEvent {
  if (typeof event.type !== 'string' || event.type === '') {
    throw new InvalidAppendError(`an event for stream "${stream}" has no type`);
  }
  if (typeof event.correlationId !== 'string' || event.correlationId === '') {
    throw new InvalidAppendError(`${event.type} for stream "${stream}" has no correlationId`);
  }
  const schemaVersion =
    event.schemaVersion ?? (isKnownEventType(event.type) ? currentSchemaVersion(event.type) : 1);
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new InvalidAppendError(
      `${event.type} has schemaVersion ${schemaVersion}; it must be a positive integer`,
    );
  }
  if (event.eventId !== undefined && !UUID.test(event.eventId)) {
    throw new InvalidAppendError(`${event.type} has eventId "${event.eventId}", which is not a UUID`);
  }
  return {
    eventId: event.eventId?.toLowerCase() ?? uuidv7(),
    eventIdGiven: event.eventId !== undefined,
    type: event.type,
    schemaVersion,
    data: event.data === undefined ? null : event.data,
    correlationId: event.correlationId,
    causationId: event.causationId ?? null,
    traceparent: event.traceparent,
    tracestate: event.tracestate,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkExpectedVersion(stream: string, expected: ExpectedVersion): void {
  if (expected === 'any' || expected === 'exists' || expected === 'no-stream') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new InvalidAppendError(
    `expected version ${JSON.stringify(expected)} for stream "${stream}" is not a version number, 'no-stream', 'exists' or 'any'`,
  );
}

/** True when a stream at `current` satisfies `expected`. */
export function satisfies(expected: ExpectedVersion, current: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'exists':
      return current > 0;
    case 'no-stream':
      return current === 0;
    default:
      return current === expected;
  }
}

/** True when a retry after a concurrent writer's commit may succeed: the writer did not pin a version. */
export function isUnpinned(expected: ExpectedVersion): boolean {
  return expected === 'any' || expected === 'exists';
}

/** The recorded form of a prepared event, once the store has given it its place. */
export function recordEvent(
  stream: string,
  event: PreparedEvent,
  streamVersion: number,
  position: number,
  timestamp: string,
): RecordedEvent {
  return {
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: {
      eventId: event.eventId,
      stream,
      streamVersion,
      position,
      correlationId: event.correlationId,
      causationId: event.causationId,
      timestamp,
      ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
      ...(event.tracestate === undefined ? {} : { tracestate: event.tracestate }),
    },
  };
}

/**
 * The ids to look up when `requests` may be a retry of an append that succeeded: only when every
 * request has events and every event carries a writer-chosen id; otherwise undefined.
 */
export function replayCandidateIds(requests: readonly PreparedRequest[]): string[] | undefined {
  const replayable = requests.every((r) => r.events.length > 0 && r.events.every((e) => e.eventIdGiven));
  return replayable ? requests.flatMap((r) => r.events.map((e) => e.eventId)) : undefined;
}

/**
 * The results of the earlier append when every request is a retry of it: the stream already holds
 * exactly the request's events, consecutively and in order, where the expected version put them.
 * `recorded` are the stored events with the requests' ids, in any order.
 */
export function replayResults(
  requests: readonly PreparedRequest[],
  recorded: readonly RecordedEvent[],
): AppendResult[] | undefined {
  const byId = new Map(recorded.map((e) => [e.metadata.eventId, e]));
  const results: AppendResult[] = [];
  for (const request of requests) {
    const events = replayOf(request, byId);
    if (!events) return undefined;
    results.push({ stream: request.stream, streamVersion: events.at(-1)!.metadata.streamVersion, events });
  }
  return results;
}

function replayOf(
  request: PreparedRequest,
  byId: ReadonlyMap<string, RecordedEvent>,
): RecordedEvent[] | undefined {
  if (request.events.length === 0 || !request.events.every((e) => e.eventIdGiven)) return undefined;
  const found: RecordedEvent[] = [];
  for (const [i, event] of request.events.entries()) {
    const stored = byId.get(event.eventId);
    if (!stored || stored.metadata.stream !== request.stream || stored.type !== event.type) return undefined;
    if (i > 0 && stored.metadata.streamVersion !== found[i - 1]!.metadata.streamVersion + 1) return undefined;
    found.push(stored);
  }
  const first = found[0]!.metadata.streamVersion;
  const expected = request.expectedVersion;
  if (typeof expected === 'number' && first !== expected + 1) return undefined;
  if (expected === 'no-stream' && first !== 1) return undefined;
  return found;
}
