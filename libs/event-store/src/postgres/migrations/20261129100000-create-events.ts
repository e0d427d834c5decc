import { type Kysely, sql } from 'kysely';

/**
 * The log. `transaction_id` records which transaction appended each row so that readers can read in
 * commit order: a bigserial `position` is taken at insert time, so a later position can commit (and
 * become visible) before an earlier one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create schema if not exists lxr_events`.execute(db);
  await db.schema
    .withSchema('lxr_events')
    .createTable('events')
    .addColumn('position', 'bigserial', (c) => c.primaryKey())
    .addColumn('transaction_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .addColumn('event_id', 'uuid', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('stream_version', 'integer', (c) => c.notNull().check(sql`stream_version > 0`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('schema_version', 'integer', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('correlation_id', 'text', (c) => c.notNull())
    .addColumn('causation_id', 'text')
    .addColumn('traceparent', 'text')
    .addColumn('tracestate', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('events_event_id_key', ['event_id'])
    .addUniqueConstraint('events_stream_version_key', ['stream', 'stream_version'])
    .execute();
  // readAll, projections and the relay scan (transaction_id, position) > cursor.
  await db.schema
    .withSchema('lxr_events')
    .createIndex('events_commit_order_idx')
    .on('events')
    .columns(['transaction_id', 'position'])
    .execute();
  // GET /v1/events?container=<id> and tracing a whole flow.
  await db.schema
    .withSchema('lxr_events')
    .createIndex('events_correlation_id_idx')
    .on('events')
    .column('correlation_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.withSchema('lxr_events').dropTable('events').execute();
}
