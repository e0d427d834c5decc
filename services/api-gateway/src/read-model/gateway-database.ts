import type { Logger, PostgresEventStore, ProjectionRunner } from '@lxr/event-store';
import { createProjectionRunner, migrateSchema } from '@lxr/event-store';
import type { Kysely } from 'kysely';
import { containersProjection } from './containers.projection.js';
import { GATEWAY_SCHEMA, type GatewayDatabase as GatewayDb, type GatewayTables } from './containers.table.js';
import { migrations } from './migrations/index.js';

/** The gateway's side of the database: its tables migrated and the runner of its projections. */
export interface GatewayDatabase {
  readonly db: Kysely<GatewayDb>;
  /** Not started: `start()` it to follow the log, or let `catchUp()` drive it. */
  readonly runner: ProjectionRunner;
}

/** Migrates the event store and the gateway's read models, and builds the projection runner. */
export async function prepareGatewayDatabase(
  store: PostgresEventStore,
  logger?: Logger,
): Promise<GatewayDatabase> {
  await store.migrate();
  const db = store.db.withTables<GatewayTables>();
  // Its own schema and bookkeeping (`api_gateway.migrations`), next to the event store's.
  await migrateSchema(db, { schema: GATEWAY_SCHEMA, migrations });
  const runner = createProjectionRunner({
    db,
    projections: [containersProjection],
    notifications: store.notifications,
    ...(logger ? { logger } : {}),
  });
  return { db, runner };
}
