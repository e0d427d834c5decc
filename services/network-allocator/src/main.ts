// Composition root of the network-allocator, which allocates container addresses and wires network namespaces, veths and the bridge.
// It runs under the service kit — config, logs, health, heartbeat in `lxr_nodes`, graceful
// shutdown — so the gateway sees it alive; its event handlers arrive with its issue.
import { runService } from '@lxr/service-kit';

await runService({
  name: 'network-allocator',
  perNode: true,
  version: '0.1.0',
  start(context) {
    context.logger.info('network-allocator running');
  },
});
