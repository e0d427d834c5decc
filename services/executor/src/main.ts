// Composition root of the executor, the privileged node agent that runs this node's containers
// through lxr's native runtime (or runc) and reports their lifecycle. The only file that reads the
// environment and opens PostgreSQL and NATS.

import { readFileSync } from 'node:fs';
import { nodeDurable } from '@lxr/bus';
import { createPostgresEventStore } from '@lxr/event-store';
import { field, runService } from '@lxr/service-kit';
import { nodeConfigSpec, nodeLayout } from './config.js';
import { Executor } from './executor.js';
import { loadSeccompProfile } from './runtime/bundle.js';
import { NodeRuntime } from './runtime/node-runtime.js';
import { startResponders } from './sessions/responders.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runService({
  name: 'executor',
  perNode: true,
  version,
  config: {
    // The common `databaseUrl`, required here: the executor reads and appends the event log.
    databaseUrl: field.url('LXR_DATABASE_URL', {
      secret: true,
      protocols: ['postgres:', 'postgresql:'],
      description: 'the PostgreSQL URL of the event log',
    }),
    ...nodeConfigSpec,
  },
  async start({ config, logger, bus, nats, signal, onStop, onShutdown }) {
    const runtime = new NodeRuntime(nodeLayout(config, config.home));
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    const executor = new Executor({
      store,
      runtime,
      node: config.node,
      seccomp: await loadSeccompProfile(config.seccompProfile),
      logger,
    });
    onStop('executor', () => executor.close());
    await executor.adopt();
    const responders = startResponders({ bus, nats, node: config.node, runtime, logger, signal });
    onStop('responders', async () => {
      await Promise.all(responders.map((r) => r.drain()));
    });
    await bus.subscribe({
      durable: nodeDurable('executor', config.node),
      handler: (event) => executor.handle(event),
      concurrency: 8,
    });
    logger.info(
      { runtime: runtime.layout.runtime, containers: (await runtime.known()).length },
      'executor running',
    );
  },
});
