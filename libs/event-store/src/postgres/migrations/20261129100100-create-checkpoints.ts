import { type Kysely, sql } from 'kysely';

/** Checkpoints of projections and outbox relays: a cursor `(transaction_id, position)` per name. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .withSchema('lxr_events')
    .createTable('projection_checkpoints')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('transaction_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`'0'::xid8`))
    .addColumn('position', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .withSchema('lxr_events')
    .createTable('outbox_checkpoints')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`'0'::xid8`))
    .addColumn('position', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.withSchema('lxr_events').dropTable('outbox_checkpoints').execute();
  await db.schema.withSchema('lxr_events').dropTable('projection_checkpoints').execute();
}
