// Composition root of the ide-launcher (one per node): starts code-server inside the node's
// development containers through the executor, reports IdeReady / IdeFailed and keeps it running.
// The only file that reads the environment and opens PostgreSQL and NATS.

import { readFileSync } from 'node:fs';
import { nodeDurable } from '@lxr/bus';
import { createPostgresEventStore } from '@lxr/event-store';
import { contextSubject } from '@lxr/events';
import { field, runService } from '@lxr/service-kit';
import { IdeLauncher } from './ide-launcher.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runService({
  name: 'ide-launcher',
  perNode: true,
  version,
  config: {
    databaseUrl: field.url('LXR_DATABASE_URL', {
      secret: true,
      protocols: ['postgres:', 'postgresql:'],
      description: 'the PostgreSQL URL of the event log',
    }),
    readyTimeoutMs: field.integer('LXR_IDE_READY_TIMEOUT_MS', {
      default: 60_000,
      min: 1_000,
      description: 'how long code-server may take to answer after its launch',
    }),
    watchIntervalMs: field.integer('LXR_IDE_WATCH_MS', {
      default: 500,
      min: 50,
      description: "how often a running code-server's process is checked",
    }),
  },
  async start({ config, logger, bus, onStop, onShutdown }) {
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    const launcher = new IdeLauncher({
      store,
      bus,
      node: config.node,
      logger,
      readyTimeoutMs: config.readyTimeoutMs,
      watchIntervalMs: config.watchIntervalMs,
    });
    onStop('ide-launcher', () => launcher.close());
    await launcher.adopt();
    await bus.subscribe({
      durable: nodeDurable('ide-launcher', config.node),
      filterSubject: contextSubject('container'),
      handler: (event) => launcher.handle(event),
      concurrency: 8,
    });
    logger.info('ide-launcher running');
  },
});
