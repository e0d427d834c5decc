// Composition root of the rootfs-builder, which unpacks image layers into a shared cache and prepares overlayfs root filesystems.
// It runs under the service kit — config, logs, health, heartbeat in `lxr_nodes`, graceful
// shutdown — so the gateway sees it alive; its event handlers arrive with its issue.
import { runService } from '@lxr/service-kit';

await runService({
  name: 'rootfs-builder',
  perNode: true,
  version: '0.1.0',
  start(context) {
    context.logger.info('rootfs-builder running');
  },
});
