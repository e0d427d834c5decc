// Composition root of the executor, which runs containers through lxr's native runtime and reports their lifecycle.
// It runs under the service kit — config, logs, health, heartbeat in `lxr_nodes`, graceful
// shutdown — so the gateway sees it alive; its event handlers arrive with its issue.
import { runService } from '@lxr/service-kit';

await runService({
  name: 'executor',
  perNode: true,
  version: '0.1.0',
  start(context) {
    context.logger.info('executor running');
  },
});
