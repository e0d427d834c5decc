import { type Kysely, sql } from 'kysely';

/** The containers read model behind `GET /v1/containers` and `lxr ps`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createSchema('api_gateway').ifNotExists().execute();
  const s = db.schema.withSchema('api_gateway');
  await s
    .createTable('containers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('command', 'jsonb')
    .addColumn('env', 'jsonb', (c) => c.notNull())
    .addColumn('labels', 'jsonb', (c) => c.notNull())
    .addColumn('ide', 'boolean', (c) => c.notNull())
    .addColumn('resources', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('pid', 'integer')
    .addColumn('ip', 'text')
    .addColumn('netns', 'text')
    .addColumn('last_position', 'bigint', (c) => c.notNull())
    .execute();
  // Lookups by name (`lxr rm web`) and by id prefix (`lxr rm 3f2a`: text_pattern_ops serves LIKE 'x%').
  await s.createIndex('containers_name').on('containers').column('name').execute();
  await s.createIndex('containers_id_prefix').on('containers').expression(sql`id text_pattern_ops`).execute();
  await s.createIndex('containers_created_at').on('containers').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.withSchema('api_gateway').dropTable('containers').execute();
}
