import type pg from 'pg';
import {
  type PreparedRequest,
  recordEvent,
  replayCandidateIds,
  replayResults,
  satisfies,
} from '../append-request.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../errors.js';
import type { AppendResult, ExpectedVersion } from '../event-store.js';
import { EVENTS_BY_ID_SQL, type EventRow, toRecordedEvent } from './read.js';

/**
 * One statement appends any number of *groups* — each group is one `append`/`appendMany` call and is
 * all-or-nothing on its own — in one implicit transaction and one round trip (a named prepared
 * statement). The append queue puts several concurrent calls into one statement when it can.
 *
 * - `req` reads each stream's current version (the last entry of the `(stream, stream_version)` index);
 * - `grp` decides per group whether every stream is at its expected version;
 * - `ins` inserts the events of the groups that passed, in order, numbering each stream from its
 *   current version;
 * - a concurrent writer that inserted the same `(stream, stream_version)` makes this statement wait
 *   for it and then fail with a unique violation: the caller retries (see `AppendOutcome`);
 * - `pg_notify('lxr_events', <last position>)` runs once, only when rows were inserted, and is
 *   delivered at commit.
 *
 * Expected versions are encoded as: n >= 0 the version, -1 'any', -2 'exists' ('no-stream' is 0).
 * A statement never holds two requests for the same stream (the queue sees to it).
 */
export const APPEND_SQL = `with req as (
  select r.i, r.g, r.stream, r.expected,
    coalesce((select e.stream_version from lxr_events.events e where e.stream = r.stream
              order by e.stream_version desc limit 1), 0) as current
  from json_to_recordset($1::json) as r(i int, g int, stream text, expected bigint)
), grp as (
  select r.g, bool_and(case r.expected when -1 then true when -2 then r.current > 0
                                      else r.current = r.expected end) as ok
  from req r group by r.g
), ins as (
  insert into lxr_events.events (event_id, stream, stream_version, type, schema_version, data,
                                 correlation_id, causation_id, traceparent, tracestate)
  select x.event_id, req.stream, req.current + x.v, x.type, x.schema_version, coalesce(x.data, 'null'::jsonb),
         x.correlation_id, x.causation_id, x.traceparent, x.tracestate
  from json_to_recordset($2::json) as x(n int, i int, v int, event_id uuid, type text, schema_version int,
       data jsonb, correlation_id text, causation_id text, traceparent text, tracestate text)
  join req on req.i = x.i
  join grp on grp.g = req.g
  where grp.ok
  order by x.n
  returning position, event_id, recorded_at
)
select (select json_agg(json_build_array(i, current)) from req) as streams,
  (select json_agg(g) from grp where not ok) as failed,
  (select json_agg(json_build_array(event_id, position)) from ins) as events,
  (select min(recorded_at) from ins) as recorded_at,
  (select pg_notify('lxr_events', max(position)::text) from ins having count(*) > 0) as notified`;

interface AppendRow {
  /** [request index, current version] per request. */
  readonly streams: [number, number][] | null;
  /** Groups whose expected versions did not hold; null when none. */
  readonly failed: number[] | null;
  /** [event id, position] per inserted event; null when nothing was inserted. */
  readonly events: [string, number][] | null;
  readonly recorded_at: Date | null;
}

interface PgError extends Error {
  readonly code?: string;
  readonly constraint?: string;
  readonly detail?: string;
}

/** One group's fate in a statement. */
export type AppendOutcome =
  | { readonly kind: 'done'; readonly results: AppendResult[] }
  | { readonly kind: 'failed'; readonly error: Error }
  /** A concurrent writer took a version this statement computed: run the group again. */
  | { readonly kind: 'race'; readonly cause: Error }
  /** The statement failed for a reason one of its groups caused: run each group on its own. */
  | { readonly kind: 'alone'; readonly cause: Error };

/** One `append`/`appendMany` call: its requests, and the lost race that made it run again, if any. */
export interface AppendGroup {
  readonly requests: readonly PreparedRequest[];
  readonly raceCause?: Error;
}

/**
 * Runs one statement for `groups` and says what became of each. Throws only for errors that say
 * nothing about the groups (a lost connection): then the outcome of the statement is unknown.
 */
export async function executeAppend(pool: pg.Pool, groups: readonly AppendGroup[]): Promise<AppendOutcome[]> {
  const requests: { i: number; g: number; stream: string; expected: number }[] = [];
  const events: object[] = [];
  for (const [g, { requests: group }] of groups.entries()) {
    for (const request of group) {
      const i = requests.length;
      requests.push({ i, g, stream: request.stream, expected: encodeExpected(request.expectedVersion) });
      for (const [v, e] of request.events.entries()) {
        events.push({
          n: events.length,
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
        });
      }
    }
  }

  let row: AppendRow;
  try {
    const result = await pool.query<AppendRow>({
      name: 'lxr_events_append',
      text: APPEND_SQL,
      values: [JSON.stringify(requests), JSON.stringify(events)],
    });
    row = result.rows[0]!;
  } catch (error) {
    const e = error as PgError;
    if (e.code !== '23505') throw error;
    if (e.constraint === 'events_stream_version_key') return groups.map(() => ({ kind: 'race', cause: e }));
    if (groups.length > 1) return groups.map(() => ({ kind: 'alone', cause: e }));
    if (e.constraint === 'events_event_id_key')
      return [await duplicateOrReplay(pool, groups[0]!.requests, e)];
    throw error;
  }

  const current = new Map(row.streams ?? []);
  const failed = new Set(row.failed ?? []);
  const positions = new Map(row.events ?? []);
  const timestamp = (row.recorded_at ?? new Date()).toISOString();
  let i = 0;
  const outcomes: AppendOutcome[] = [];
  for (const [g, { requests: group, raceCause }] of groups.entries()) {
    const first = i;
    i += group.length;
    if (failed.has(g)) {
      outcomes.push(await conflictOrReplay(pool, group, (k) => current.get(first + k) ?? 0, raceCause));
      continue;
    }
    const results = group.map((request, k) => {
      const base = current.get(first + k) ?? 0;
      const recorded = request.events.map((event, v) =>
        recordEvent(request.stream, event, base + v + 1, positions.get(event.eventId)!, timestamp),
      );
      return { stream: request.stream, streamVersion: base + recorded.length, events: recorded };
    });
    outcomes.push({ kind: 'done', results });
  }
  return outcomes;
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

/** A group refused by the version check: a replay of an earlier success, or a conflict. */
async function conflictOrReplay(
  pool: pg.Pool,
  group: readonly PreparedRequest[],
  currentOf: (k: number) => number,
  raceCause: Error | undefined,
): Promise<AppendOutcome> {
  const replay = await findReplay(pool, group);
  if (replay) return { kind: 'done', results: replay };
  for (const [k, request] of group.entries()) {
    const actual = currentOf(k);
    if (!satisfies(request.expectedVersion, actual)) {
      // After a lost race the conflict was first seen as a unique violation: keep it as the cause.
      const options = raceCause && { cause: raceCause };
      return {
        kind: 'failed',
        error: new WrongExpectedVersionError(request.stream, request.expectedVersion, actual, options),
      };
    }
  }
  return { kind: 'race', cause: new Error('append refused although every expected version held') };
}

/** A group that hit the event id index: a replay of an earlier success, or a duplicate id. */
async function duplicateOrReplay(
  pool: pg.Pool,
  group: readonly PreparedRequest[],
  cause: PgError,
): Promise<AppendOutcome> {
  const replay = await findReplay(pool, group);
  if (replay) return { kind: 'done', results: replay };
  const id = /\(event_id\)=\(([0-9a-f-]+)\)/.exec(cause.detail ?? '')?.[1];
  const request = group.find((r) => r.events.some((e) => e.eventId === id)) ?? group[0]!;
  return {
    kind: 'failed',
    error: new DuplicateEventIdError(id ?? request.events[0]?.eventId ?? '?', request.stream, { cause }),
  };
}

/** The recorded events when every request of the group is a replay of an append that succeeded. */
async function findReplay(
  pool: pg.Pool,
  group: readonly PreparedRequest[],
): Promise<AppendResult[] | undefined> {
  const ids = replayCandidateIds(group);
  if (!ids) return undefined;
  const { rows } = await pool.query<EventRow>(EVENTS_BY_ID_SQL, [ids]);
  return replayResults(group, rows.map(toRecordedEvent));
}
