import { readFileSync } from 'node:fs';
import { createOutboxRelay, createPostgresEventStore } from '@lxr/event-store';
import { field, runService } from '@lxr/service-kit';
import { buildApp } from './app.js';
import { ensureApiToken } from './http/api-token.js';
import { createGatewayMetrics } from './http/metrics.js';
import { busImageNodes } from './images/image-nodes.js';
import { natsExecutorLink } from './lifecycle/executor-link.js';
import { natsNodeDirectory } from './nodes/nats-node-directory.js';
import { prepareGatewayDatabase } from './read-model/gateway-database.js';
import { createPostgresContainersReadModel } from './read-model/postgres-containers.read-model.js';
import { busRootfsNodes } from './system/rootfs-nodes.js';
import { busVolumeNodes } from './volumes/volume-nodes.js';

// The gateway's one composition root: reads the environment (through service-kit), opens
// PostgreSQL and NATS, and hands them to the app.

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runService({
  name: 'api-gateway',
  perNode: false,
  version,
  config: {
    apiHost: field.string('LXR_API_HOST', {
      default: '127.0.0.1',
      description: 'address the HTTP API listens on',
    }),
    apiPort: field.port('LXR_API_PORT', { default: 7420, description: 'port of the HTTP API' }),
    database: field.url('LXR_DATABASE_URL', {
      secret: true,
      protocols: ['postgres:', 'postgresql:'],
      description: 'the PostgreSQL URL of the event log',
    }),
  },
  async start({ config, logger, bus, nats, tracer, addReadinessCheck, onStop, onShutdown }) {
    const { token, file, created } = await ensureApiToken(config.home);
    if (created) logger.info({ file }, 'created the API token');

    const store = createPostgresEventStore({ connectionString: config.database, logger });
    onShutdown('event store', () => store.close());
    const { db, runner } = await prepareGatewayDatabase(store, logger);
    await runner.start();
    onStop('projection runner', () => runner.stop());

    // Leader-elected in PostgreSQL: every gateway runs one and only one publishes at a time.
    const relay = createOutboxRelay({
      connectionString: config.database,
      publish: (event, chaining) => bus.publish(event, chaining),
      logger: logger.child({ component: 'outbox-relay' }),
    });
    await relay.start();
    onStop('outbox relay', () => relay.stop());

    const postgres = async () => {
      await store.pool.query('select 1');
    };
    const natsCheck = async () => {
      await nats.flush();
    };
    addReadinessCheck('postgres', () => postgres().then(() => true));
    const app = await buildApp({
      store,
      readModel: createPostgresContainersReadModel(db, runner),
      nodes: natsNodeDirectory(nats),
      images: busImageNodes(bus),
      volumes: busVolumeNodes(bus),
      rootfs: busRootfsNodes(bus),
      token,
      // SSE streams wake on any append to the log, whoever made it.
      appends: store.notifications,
      metrics: createGatewayMetrics({ processMetrics: true }),
      readiness: { postgres, nats: natsCheck },
      logger: logger.child({ component: 'http' }),
      version,
      tracer,
      executors: natsExecutorLink(nats, bus),
    });
    await app.listen({ host: config.apiHost, port: config.apiPort });
    onStop('http server', () => app.close());
    logger.info({ url: `http://${config.apiHost}:${config.apiPort}`, docs: '/docs' }, 'API listening');
  },
});
