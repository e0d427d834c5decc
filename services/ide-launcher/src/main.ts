// Composition root of the ide-launcher, which starts code-server inside development containers.
// It runs under the service kit — config, logs, health, heartbeat in `lxr_nodes`, graceful
// shutdown — so the gateway sees it alive; its event handlers arrive with its issue.
import { runService } from '@lxr/service-kit';

await runService({
  name: 'ide-launcher',
  perNode: false,
  version: '0.1.0',
  start(context) {
    context.logger.info('ide-launcher running');
  },
});
