// Composition root of the network-allocator: per node, as root, it allocates container addresses
// in the event log and wires each container's namespace, veth pair, bridge, NAT and published
// ports (see README.md). The only file that reads the environment and opens connections.

import { nodeDurable } from '@lxr/bus';
import { createPostgresEventStore } from '@lxr/event-store';
import { contextSubject } from '@lxr/events';
import { runService, ServiceError, ServiceKitErrorCode } from '@lxr/service-kit';
import { networkConfigSpec } from './config.js';
import { NodeNetwork } from './node-network.js';

await runService({
  name: 'network-allocator',
  perNode: true,
  version: '0.1.0',
  config: networkConfigSpec,
  async start({ config, logger, bus, signal, onStop, onShutdown, addReadinessCheck }) {
    if (!config.databaseUrl) {
      throw new ServiceError(
        ServiceKitErrorCode.StartFailed,
        'LXR_DATABASE_URL is not set: the network-allocator records addresses in the event log',
      );
    }
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    const network = await NodeNetwork.start(
      store,
      {
        node: config.node,
        home: config.home,
        pool: config.pool,
        subnetPrefixLength: config.subnetPrefixLength,
        bridge: config.bridge,
        chainPrefix: config.chainPrefix,
        netnsPrefix: config.netnsPrefix,
        vethPrefix: config.vethPrefix,
        dns: config.dns.split(','),
        warm: config.warm,
      },
      logger,
    );
    onShutdown('node network', () => network.close());
    await network.reconcile();
    network.startWarmPool();

    // One durable per node: every container event, so removals and failures reach the node that
    // wired the container. Handlers run concurrently (a burst of creations shares appends).
    await bus.subscribe({
      durable: nodeDurable('network-allocator', config.node),
      filterSubject: contextSubject('container'),
      concurrency: config.concurrency,
      ackWaitMs: config.ackWaitMs,
      handler: (event) => network.handle(event),
    });

    let lastReconcile = Date.now();
    const timer = setInterval(() => {
      network
        .reconcile()
        .then(() => {
          lastReconcile = Date.now();
        })
        .catch((error) => logger.error({ err: error }, 'reconciliation failed'));
    }, config.reconcileIntervalMs);
    timer.unref();
    onStop('reconciler', () => clearInterval(timer));
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    addReadinessCheck(
      'reconciler',
      () =>
        Date.now() - lastReconcile < config.reconcileIntervalMs * 3 + 10_000 ||
        'reconciliation keeps failing',
    );
  },
});
