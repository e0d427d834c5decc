import { createPostgresEventStore, type PostgresEventStore, type ProjectionRunner } from '@lxr/event-store';
import type { PostgresServer } from '@lxr/testkit';
import type { Kysely } from 'kysely';
import type { ContainersReadModel } from '../read-model/containers.read-model.js';
import type { GatewayDatabase } from '../read-model/containers.table.js';
import { prepareGatewayDatabase } from '../read-model/gateway-database.js';
import { createPostgresContainersReadModel } from '../read-model/postgres-containers.read-model.js';

let databases = 0;

export interface GatewayDatabaseFixture {
  readonly url: string;
  readonly store: PostgresEventStore;
  readonly db: Kysely<GatewayDatabase>;
  readonly runner: ProjectionRunner;
  readonly readModel: ContainersReadModel;
  dispose(): Promise<void>;
}

/**
 * A fresh database on `server` with the event store's and the gateway's schemas migrated, the
 * containers projection runner (not started: `catchUp` drives it) and the read model over it.
 */
export async function gatewayDatabase(server: PostgresServer): Promise<GatewayDatabaseFixture> {
  const name = `gw_${process.pid}_${++databases}`;
  const admin = createPostgresEventStore({ connectionString: server.url, maxConnections: 1 });
  await admin.pool.query(`create database ${name}`);
  await admin.close();
  const url = server.url.replace(/\/[^/]*$/, `/${name}`);
  const store = createPostgresEventStore({ connectionString: url });
  const { db, runner } = await prepareGatewayDatabase(store);
  return {
    url,
    store,
    db,
    runner,
    readModel: createPostgresContainersReadModel(db, runner),
    async dispose() {
      await runner.stop();
      await store.close();
    },
  };
}
