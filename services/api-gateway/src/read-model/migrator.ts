import { type Kysely, Migrator } from 'kysely';
import { GATEWAY_SCHEMA } from './containers.table.js';
import { migrations } from './migrations/index.js';

/** A kysely Migrator for the gateway's schema, with its own bookkeeping in `api_gateway.migrations`. */
export function createGatewayMigrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableSchema: GATEWAY_SCHEMA,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migration_lock',
  });
}

/** Brings the gateway's schema up to date; safe to race from several processes. */
export async function migrateGateway<DB>(db: Kysely<DB>): Promise<void> {
  const { error, results } = await createGatewayMigrator(db).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`api-gateway migration "${failed}" failed; fix the database and restart`, {
      cause: error,
    });
  }
}
