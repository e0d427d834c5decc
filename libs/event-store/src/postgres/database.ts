import type { ColumnType, Generated } from 'kysely';

/** The PostgreSQL schema holding the event store's tables, migration table included. */
export const EVENT_STORE_SCHEMA = 'lxr_events';

/** The LISTEN/NOTIFY channel every append notifies, in the append's own transaction. */
export const EVENTS_CHANNEL = 'lxr_events';

/** A `bigint` column: pg returns it as a string; write numbers, strings or bigints. */
export type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>;
/** An `xid8` column: a 64-bit transaction id, read as its decimal text (`transaction_id::text`). */
export type Xid8 = ColumnType<string, string, string>;

/** `lxr_events.events`: the log, and the outbox the relay publishes from. */
export interface EventsTable {
  /** Global position (bigserial): unique, but read in commit order, not numeric order. */
  position: ColumnType<string, never, never>;
  /** The appending transaction (`pg_current_xact_id()`), for commit-order reads. */
  transaction_id: ColumnType<string, never, never>;
  event_id: string;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: number;
  /** jsonb: parsed when read, JSON text when written. */
  data: ColumnType<unknown, string, string>;
  correlation_id: string;
  causation_id: string | null;
  traceparent: string | null;
  tracestate: string | null;
  recorded_at: Generated<Date>;
}

/** `lxr_events.projection_checkpoints`: how far each projection has applied the log. */
export interface ProjectionCheckpointsTable {
  name: string;
  /** The projection version the read model was built with; a higher one triggers a rebuild. */
  version: number;
  /** Cursor: the last applied event's transaction id and position (`0`/`0` = nothing yet). */
  transaction_id: Xid8;
  position: Int8;
  updated_at: Generated<Date>;
}

/** `lxr_events.outbox_checkpoints`: how far each outbox relay has published the log. */
export interface OutboxCheckpointsTable {
  name: string;
  transaction_id: Xid8;
  position: Int8;
  updated_at: Generated<Date>;
}

/**
 * The event store's tables for kysely. Projections that share the database combine it with their
 * own: `store.db.withTables<MyTables>()`.
 */
export interface Database {
  'lxr_events.events': EventsTable;
  'lxr_events.projection_checkpoints': ProjectionCheckpointsTable;
  'lxr_events.outbox_checkpoints': OutboxCheckpointsTable;
}
