import { type Kysely, type Migration, Migrator } from 'kysely';
import { MigrationError } from '../errors.js';
import { EVENT_STORE_SCHEMA } from './database.js';
import { migrations } from './migrations/index.js';

/**
 * One package's migrations, kept apart from every other package's: kysely's bookkeeping tables
 * are `<schema>.migrations` and `<schema>.migration_lock`.
 */
export interface SchemaMigrations {
  /** The PostgreSQL schema holding the bookkeeping tables (created if missing), e.g. `lxr_events`. */
  readonly schema: string;
  /**
   * Every migration by name. List them statically (no directory scan), so bundling and `dist/`
   * layouts cannot lose one; name them by timestamp and append new ones with a later stamp.
   */
  readonly migrations: Readonly<Record<string, Migration>>;
}

/**
 * A kysely `Migrator` for one schema's migrations, for `migrateDown` or `migrateTo`;
 * {@link migrateSchema} is the usual entry.
 */
export function createSchemaMigrator<DB>(db: Kysely<DB>, { schema, migrations }: SchemaMigrations): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableSchema: schema,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migration_lock',
  });
}

/**
 * Brings one schema up to date. Safe to call from many processes at once (kysely serialises them
 * on the lock table); throws {@link MigrationError} naming the schema and the failed migration.
 *
 * @example
 * await migrateSchema(db, { schema: 'api_gateway', migrations });
 */
export async function migrateSchema<DB>(db: Kysely<DB>, set: SchemaMigrations): Promise<void> {
  const { error, results } = await createSchemaMigrator(db, set).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new MigrationError(set.schema, failed, { cause: error });
  }
}

const eventStoreMigrations: SchemaMigrations = { schema: EVENT_STORE_SCHEMA, migrations };

/**
 * The `Migrator` of the event store's own schema (`lxr_events`), for `migrateDown` or `migrateTo`;
 * `PostgresEventStore.migrate()` is the usual entry.
 */
export function createEventStoreMigrator<DB>(db: Kysely<DB>): Migrator {
  return createSchemaMigrator(db, eventStoreMigrations);
}

/** Brings the event store's schema up to date; see {@link migrateSchema}. */
export async function migrateEventStore<DB>(db: Kysely<DB>): Promise<void> {
  await migrateSchema(db, eventStoreMigrations);
}
