import type { RecordedEvent } from '@lxr/events';
import { CompiledQuery, type QueryResult } from 'kysely';
import type pg from 'pg';
import { UnknownPositionError } from '../errors.js';

/**
 * Where a reader of the log stands: the transaction id and position of the last event it read.
 * Rows are read in `(transaction_id, position)` order, which is commit order; `position` alone is
 * the public cursor, and its transaction id is looked up to continue.
 */
export interface LogCursor {
  /** xid8 as decimal text. */
  readonly transactionId: string;
  readonly position: number;
}

/** The cursor before the first event. */
export const LOG_START: LogCursor = Object.freeze({ transactionId: '0', position: 0 });

/** An event read from the log with the cursor just past it. */
export interface LoggedEvent {
  readonly event: RecordedEvent;
  readonly cursor: LogCursor;
}

const COLUMNS = `position::text as position, transaction_id::text as transaction_id, event_id::text as event_id,
  stream, stream_version, type, schema_version, data, correlation_id, causation_id, traceparent, tracestate, recorded_at`;

/**
 * The safe read: only rows of transactions older than every transaction still running
 * (`pg_snapshot_xmin`), so no row can later appear before the cursor, in commit order.
 */
const readAfterSql = (cursor: string, limit: string) => `select ${COLUMNS} from lxr_events.events e
where (e.transaction_id, e.position) > ${cursor}
  and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
order by e.transaction_id, e.position -- qualified: the output columns of the same names are text
limit ${limit}`;

/** The safe read after a cursor. Parameters: cursor transaction id, cursor position, limit (null = all). */
export const READ_AFTER_SQL = readAfterSql('($1::xid8, $2::bigint)', '$3');

/**
 * The safe read after a public position, its transaction id looked up in the same statement; a
 * position no event has compares as null and reads nothing. Parameters: position, limit (null = all).
 */
const READ_AFTER_POSITION_SQL = readAfterSql(
  '((select c.transaction_id from lxr_events.events c where c.position = $1), $1::bigint)',
  '$2',
);

/** Events by id, for recognising a retried append. Parameter: uuid[]. */
export const EVENTS_BY_ID_SQL = `select ${COLUMNS} from lxr_events.events where event_id = any($1::uuid[])`;

const READ_STREAM_SQL = `select ${COLUMNS} from lxr_events.events
where stream = $1 and stream_version >= $2 order by stream_version limit $3`;

const STREAM_VERSION_SQL =
  'select coalesce(max(stream_version), 0) as version from lxr_events.events where stream = $1';

/** The row shape of the queries above. */
export interface EventRow {
  readonly position: string;
  readonly transaction_id: string;
  readonly event_id: string;
  readonly stream: string;
  readonly stream_version: number;
  readonly type: string;
  readonly schema_version: number;
  readonly data: unknown;
  readonly correlation_id: string;
  readonly causation_id: string | null;
  readonly traceparent: string | null;
  readonly tracestate: string | null;
  readonly recorded_at: Date;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: {
      eventId: row.event_id,
      stream: row.stream,
      streamVersion: row.stream_version,
      position: Number(row.position),
      correlationId: row.correlation_id,
      causationId: row.causation_id,
      timestamp: row.recorded_at.toISOString(),
      ...(row.traceparent === null ? {} : { traceparent: row.traceparent }),
      ...(row.tracestate === null ? {} : { tracestate: row.tracestate }),
    },
  };
}

export function toLoggedEvent(row: EventRow): LoggedEvent {
  return {
    event: toRecordedEvent(row),
    cursor: { transactionId: row.transaction_id, position: Number(row.position) },
  };
}

/** Anything kysely that runs a compiled query: a `Kysely` of any database type, or a transaction. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** Reads up to `limit` events after `cursor` in commit order, through kysely (a db or a transaction). */
export async function readAfter(db: QueryRunner, cursor: LogCursor, limit?: number): Promise<LoggedEvent[]> {
  const { rows } = await db.executeQuery<EventRow>(
    CompiledQuery.raw(READ_AFTER_SQL, [cursor.transactionId, cursor.position, limit ?? null]),
  );
  return rows.map(toLoggedEvent);
}

/**
 * Reads up to `limit` events after the public position `after` (0 = the start), in commit order.
 * Throws {@link UnknownPositionError} when no event has that position.
 */
export async function readAfterPosition(
  db: QueryRunner,
  after: number,
  limit?: number,
): Promise<RecordedEvent[]> {
  if (after === 0) return (await readAfter(db, LOG_START, limit)).map((e) => e.event);
  if (!Number.isSafeInteger(after) || after < 0) throw new UnknownPositionError(after);
  const { rows } = await db.executeQuery<EventRow>(
    CompiledQuery.raw(READ_AFTER_POSITION_SQL, [after, limit ?? null]),
  );
  // Nothing read: caught up, or no event has that position. Only then is the look-up worth a query.
  if (rows.length === 0) {
    const known = await db.executeQuery(
      CompiledQuery.raw('select 1 from lxr_events.events where position = $1', [after]),
    );
    if (known.rows.length === 0) throw new UnknownPositionError(after);
  }
  return rows.map(toRecordedEvent);
}

/** One stream's events from `fromVersion` on, in version order (`limit` undefined = all). */
export async function readStreamEvents(
  pool: pg.Pool,
  stream: string,
  fromVersion: number,
  limit: number | undefined,
): Promise<RecordedEvent[]> {
  const { rows } = await pool.query<EventRow>({
    name: 'lxr_events_read_stream',
    text: READ_STREAM_SQL,
    values: [stream, fromVersion, limit ?? null],
  });
  return rows.map(toRecordedEvent);
}

/** A stream's current version: 0 when it has no events. */
export async function currentStreamVersion(pool: pg.Pool, stream: string): Promise<number> {
  const { rows } = await pool.query<{ version: number }>({
    name: 'lxr_events_stream_version',
    text: STREAM_VERSION_SQL,
    values: [stream],
  });
  return rows[0]?.version ?? 0;
}
