// Composition root of the rootfs-builder (per node, as root): unpacks image layers into the shared
// cache, mounts each container's overlay root filesystem and records RootfsPrepared/RootfsFailed
// (see rootfs-service.ts and docs/ROOTFS.md). The only file that reads the environment and opens
// connections.

import path from 'node:path';
import { nodeDurable } from '@lxr/bus';
import { createPostgresEventStore } from '@lxr/event-store';
import { contextSubject, isRecord, rootfsRequestSubject } from '@lxr/events';
import { ImageStore } from '@lxr/oci';
import { runService } from '@lxr/service-kit';
import { rootfsConfigSpec } from './config.js';
import { ContainerRootfs } from './container-rootfs.js';
import { LayerCache } from './layer-cache.js';
import { Mounter } from './mounts.js';
import { RootfsService } from './rootfs-service.js';
import { serveVolumeRequests, VolumeStore } from './volumes/index.js';

await runService({
  name: 'rootfs-builder',
  perNode: true,
  version: '0.1.0',
  config: rootfsConfigSpec,
  async start(context) {
    const { config, logger, bus, signal, onStop, onShutdown } = context;
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    await store.migrate();
    const cache = await LayerCache.open(path.join(config.home, 'layers'), {
      onUnpacked: (layer) => logger.info(layer, 'layer unpacked'),
      nodesHelper: path.join(config.nativeDir, 'lxr-unpack-nodes'),
    });
    const mounter = new Mounter(path.join(config.nativeDir, 'lxr-mount'));
    onShutdown('mount helper', () => mounter.close());
    const volumes = new VolumeStore({
      root: path.join(config.home, 'volumes'),
      node: config.node,
      store,
      logger,
    });
    const service = new RootfsService({
      store,
      node: config.node,
      images: new ImageStore(path.join(config.home, 'images')),
      cache,
      containers: new ContainerRootfs(path.join(config.home, 'rootfs'), cache, mounter),
      volumes,
      toolsDir: path.join(config.home, 'tools'),
      logger,
      signal,
      unpackConcurrency: config.unpackConcurrency,
      pipelining: config.pipelining,
    });
    await service.reconcile();

    // Durable names allow no dots; node names may have them.
    const durable = nodeDurable('rootfs-builder', config.node);
    const handler = (event: Parameters<RootfsService['handle']>[0]) => service.handle(event);
    // Removals (container context) and pulls (image context) on two durables: a removal is never
    // queued behind a long unpack of another container's image.
    await bus.subscribe({
      durable: `${durable}-containers`,
      filterSubject: contextSubject('container'),
      concurrency: 8,
      handler,
    });
    await bus.subscribe({
      durable: `${durable}-images`,
      filterSubject: contextSubject('image'),
      concurrency: 8,
      handler,
    });

    serveVolumeRequests(context, volumes);
    const responders = [
      bus.reply(rootfsRequestSubject(config.node, 'df'), () => service.diskUsage()),
      bus.reply(rootfsRequestSubject(config.node, 'prune'), (payload) =>
        service.prune({
          volumes: isRecord(payload) && payload['volumes'] === true,
          all: isRecord(payload) && payload['all'] === true,
        }),
      ),
    ];
    onStop('rootfs requests', () => Promise.all(responders.map((r) => r.drain())).then(() => undefined));
    logger.info({ node: config.node, layers: cache.list().length }, 'rootfs-builder running');
  },
});
