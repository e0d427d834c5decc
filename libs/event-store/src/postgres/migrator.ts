import { type Kysely, Migrator } from 'kysely';
import { MigrationError } from '../errors.js';
import { EVENT_STORE_SCHEMA } from './database.js';
import { migrations } from './migrations/index.js';

/**
 * A kysely `Migrator` for the event store's schema. Its bookkeeping lives in
 * `lxr_events.migrations` and `lxr_events.migration_lock`, apart from other packages' migrations,
 * and the migrations come from a static list. Use it for `migrateDown` or `migrateTo`;
 * {@link migrateEventStore} is the usual entry.
 */
export function createEventStoreMigrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableSchema: EVENT_STORE_SCHEMA,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migration_lock',
  });
}

/**
 * Brings the event store's schema up to date. Safe to call from many processes at once (kysely
 * serialises them on its lock table); throws {@link MigrationError} naming the failed migration.
 *
 * @example
 * await migrateEventStore(db);
 */
export async function migrateEventStore<DB>(db: Kysely<DB>): Promise<void> {
  const { error, results } = await createEventStoreMigrator(db).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new MigrationError(failed, { cause: error });
  }
}
