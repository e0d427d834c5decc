// Composition root of the image-puller, which pulls images from OCI registries into the node's content-addressed blob store.
// It runs under the service kit — config, logs, health, heartbeat in `lxr_nodes`, graceful
// shutdown — so the gateway sees it alive; its event handlers arrive with its issue.
import { runService } from '@lxr/service-kit';

await runService({
  name: 'image-puller',
  perNode: true,
  version: '0.1.0',
  start(context) {
    context.logger.info('image-puller running');
  },
});
