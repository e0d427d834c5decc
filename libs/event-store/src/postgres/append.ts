import type { RecordedEvent } from '@lxr/events';
import type pg from 'pg';
import { isUnpinned, type PreparedRequest, recordEvent, replayOf, satisfies } from '../append-request.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../errors.js';
import type { AppendResult, ExpectedVersion } from '../event-store.js';
import { EVENTS_BY_ID_SQL, type EventRow, toRecordedEvent } from './read.js';

/**
 * The whole append — every stream's expected-version check, the inserts and the notification — is
 * one statement, hence one implicit transaction and one round trip (a named prepared statement).
 *
 * - `req` reads each stream's current version (the last row of its `(stream, stream_version)` index);
 * - `ok` is false when any stream is not at its expected version; then nothing is inserted;
 * - `ins` inserts the events in request order, numbering each stream from its current version;
 * - a concurrent writer that inserted the same `(stream, stream_version)` makes this statement wait for
 *   it and then fail with a unique violation, which the caller turns into a retry (see below);
 * - `pg_notify` runs once, only when rows were inserted, and is delivered at commit.
 *
 * Expected versions are encoded as: n >= 0 the version, -1 'any', -2 'exists' ('no-stream' is 0).
 */
export const APPEND_SQL = `with req as (
  select r.i, r.stream, r.expected,
    coalesce((select e.stream_version from lxr_events.events e where e.stream = r.stream
              order by e.stream_version desc limit 1), 0) as current
  from json_to_recordset($1::json) as r(i int, stream text, expected bigint)
), ok as (
  select coalesce(bool_and(case r.expected when -1 then true when -2 then r.current > 0
                                           else r.current = r.expected end), true) as ok
  from req r
), ins as (
  insert into lxr_events.events (event_id, stream, stream_version, type, schema_version, data,
                                 correlation_id, causation_id, traceparent, tracestate)
  select x.event_id, req.stream, req.current + x.v, x.type, x.schema_version, coalesce(x.data, 'null'::jsonb),
         x.correlation_id, x.causation_id, x.traceparent, x.tracestate
  from json_to_recordset($2::json) as x(n int, i int, v int, event_id uuid, type text, schema_version int,
       data jsonb, correlation_id text, causation_id text, traceparent text, tracestate text)
  join req on req.i = x.i
  where (select ok from ok)
  order by x.n
  returning position, event_id, recorded_at
)
select (select ok from ok) as ok,
  (select json_agg(json_build_array(i, current) order by i) from req) as streams,
  (select json_agg(json_build_array(event_id, position)) from ins) as events,
  (select min(recorded_at) from ins) as recorded_at,
  (select pg_notify('lxr_events', max(position)::text) from ins having count(*) > 0) as notified`;

/** Retries after a concurrent writer won a version race; only unpinned appends can need many. */
const MAX_ATTEMPTS = 50;

interface AppendRow {
  readonly ok: boolean;
  /** [request index, current version] per request. */
  readonly streams: [number, number][];
  /** [event id, position] per inserted event; null when nothing was inserted. */
  readonly events: [string, number][] | null;
  readonly recorded_at: Date | null;
}

interface PgError extends Error {
  readonly code?: string;
  readonly constraint?: string;
  readonly detail?: string;
}

/**
 * Appends the prepared requests atomically. Throws {@link WrongExpectedVersionError} on a conflict
 * (whether seen by the version check or as a unique violation from a concurrent writer) and
 * {@link DuplicateEventIdError} on a reused event id — unless the append is a replay of one that
 * already succeeded, in which case the recorded events are returned.
 */
export async function appendToPostgres(pool: pg.Pool, requests: readonly PreparedRequest[]): Promise<AppendResult[]> {
  const requestsJson = JSON.stringify(
    requests.map((r, i) => ({ i, stream: r.stream, expected: encodeExpected(r.expectedVersion) })),
  );
  let n = 0;
  const eventsJson = JSON.stringify(
    requests.flatMap((r, i) =>
      r.events.map((e, v) => ({
        n: n++,
        i,
        v: v + 1,
        event_id: e.eventId,
        type: e.type,
        schema_version: e.schemaVersion,
        data: e.data,
        correlation_id: e.correlationId,
        causation_id: e.causationId,
        traceparent: e.traceparent ?? null,
        tracestate: e.tracestate ?? null,
      })),
    ),
  );

  let raceLost: PgError | undefined;
  for (let attempt = 1; ; attempt++) {
    let row: AppendRow;
    try {
      const result = await pool.query<AppendRow>({ name: 'lxr_events_append', text: APPEND_SQL, values: [requestsJson, eventsJson] });
      row = result.rows[0]!;
    } catch (error) {
      const e = error as PgError;
      if (e.code !== '23505') throw error;
      if (e.constraint === 'events_stream_version_key') {
        // A concurrent writer committed the version we computed. Run again: the version check now sees
        // its events, and fails for a pinned expected version or succeeds after them for 'any'/'exists'.
        raceLost = e;
        if (attempt < MAX_ATTEMPTS) continue;
        const request = requests.find((r) => isUnpinned(r.expectedVersion)) ?? requests[0]!;
        const { rows } = await pool.query<{ version: number }>(
          'select coalesce(max(stream_version), 0) as version from lxr_events.events where stream = $1',
          [request.stream],
        );
        throw new WrongExpectedVersionError(request.stream, request.expectedVersion, rows[0]?.version ?? 0, { cause: e });
      }
      if (e.constraint === 'events_event_id_key') {
        const replay = await findReplay(pool, requests);
        if (replay) return replay;
        const id = /\(event_id\)=\(([0-9a-f-]+)\)/.exec(e.detail ?? '')?.[1];
        const request = requests.find((r) => r.events.some((ev) => ev.eventId === id)) ?? requests[0]!;
        throw new DuplicateEventIdError(id ?? request.events[0]?.eventId ?? '?', request.stream, { cause: e });
      }
      throw error;
    }

    const current = new Map(row.streams.map(([i, version]) => [i, version]));
    if (!row.ok) {
      const replay = await findReplay(pool, requests);
      if (replay) return replay;
      for (const [i, request] of requests.entries()) {
        const actual = current.get(i) ?? 0;
        if (!satisfies(request.expectedVersion, actual)) {
          throw new WrongExpectedVersionError(request.stream, request.expectedVersion, actual, raceLost && { cause: raceLost });
        }
      }
      throw new Error('event store: append refused but every expected version was satisfied'); // unreachable
    }

    const positions = new Map(row.events ?? []);
    const timestamp = (row.recorded_at ?? new Date()).toISOString();
    return requests.map((request, i) => {
      const base = current.get(i) ?? 0;
      const events = request.events.map((event, v) =>
        recordEvent(request.stream, event, base + v + 1, positions.get(event.eventId)!, timestamp),
      );
      return { stream: request.stream, streamVersion: base + events.length, events };
    });
  }
}

function encodeExpected(expected: ExpectedVersion): number {
  switch (expected) {
    case 'any':
      return -1;
    case 'exists':
      return -2;
    case 'no-stream':
      return 0;
    default:
      return expected;
  }
}

/** The recorded events when every request is a replay of an append that already succeeded. */
async function findReplay(pool: pg.Pool, requests: readonly PreparedRequest[]): Promise<AppendResult[] | undefined> {
  if (!requests.every((r) => r.events.length > 0 && r.events.every((e) => e.eventIdGiven))) return undefined;
  const ids = requests.flatMap((r) => r.events.map((e) => e.eventId));
  const { rows } = await pool.query<EventRow>(EVENTS_BY_ID_SQL, [ids]);
  const recorded: RecordedEvent[] = rows.map(toRecordedEvent);
  const results: AppendResult[] = [];
  for (const request of requests) {
    const events = replayOf(request, recorded);
    if (!events) return undefined;
    results.push({ stream: request.stream, streamVersion: events.at(-1)!.metadata.streamVersion, events });
  }
  return results;
}
