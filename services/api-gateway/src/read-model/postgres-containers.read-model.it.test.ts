import { after, before } from 'node:test';
import { type PostgresServer, startPostgres } from '@lxr/testkit';
import { gatewayDatabase } from '../testing/postgres.js';
import { containersReadModelContract } from './containers-read-model.contract.js';

let server: PostgresServer;
before(async () => {
  server = await startPostgres({ fsync: false });
});
after(async () => {
  await server?.dispose();
});

containersReadModelContract('PostgreSQL', () => gatewayDatabase(server));
