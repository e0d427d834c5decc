import { type Kysely, sql } from 'kysely';

/** The exit status `lxr ps -a` shows (`Exited (137)`), from ContainerExited, and the published ports. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .withSchema('api_gateway')
    .alterTable('containers')
    .addColumn('exit_code', 'integer')
    .addColumn('ports', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .withSchema('api_gateway')
    .alterTable('containers')
    .dropColumn('exit_code')
    .dropColumn('ports')
    .execute();
}
