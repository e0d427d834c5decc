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
 * Parameters: cursor transaction id, cursor position, limit (null = all).
 */
export const READ_AFTER_SQL = `select ${COLUMNS} from lxr_events.events e
where (e.transaction_id, e.position) > ($1::xid8, $2::bigint)
  and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
order by e.transaction_id, e.position -- qualified: the output columns of the same names are text
limit $3`;

/** Events by id, for recognising a retried append. Parameter: uuid[]. */
export const EVENTS_BY_ID_SQL = `select ${COLUMNS} from lxr_events.events where event_id = any($1::uuid[])`;

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

/** The same read on a raw pg client, as a named prepared statement. */
export async function readAfterWithClient(
  client: pg.ClientBase,
  cursor: LogCursor,
  limit: number,
): Promise<LoggedEvent[]> {
  const { rows } = await client.query<EventRow>({
    name: 'lxr_events_read_after',
    text: READ_AFTER_SQL,
    values: [cursor.transactionId, cursor.position, limit],
  });
  return rows.map(toLoggedEvent);
}

/** The cursor at a public position: 0 is the start; a position with no event throws. */
export async function cursorAt(db: QueryRunner, position: number): Promise<LogCursor> {
  if (position === 0) return LOG_START;
  if (!Number.isSafeInteger(position) || position < 0) throw new UnknownPositionError(position);
  const { rows } = await db.executeQuery<{ transaction_id: string }>(
    CompiledQuery.raw(
      'select transaction_id::text as transaction_id from lxr_events.events where position = $1',
      [position],
    ),
  );
  const row = rows[0];
  if (!row) throw new UnknownPositionError(position);
  return { transactionId: row.transaction_id, position };
}
