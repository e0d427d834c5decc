import path from 'node:path';
import { nodeDurable } from '@lxr/bus';
import { createPostgresEventStore } from '@lxr/event-store';
import { contextSubject, imageRequestSubject } from '@lxr/events';
import { dockerConfigCredentials, ImagePuller, ImageStore, RegistryClient } from '@lxr/oci';
import type { ServiceDefinition } from '@lxr/service-kit';
import { imagePullerConfigSpec, parseMirrors } from './config.js';
import { ContainerUsage } from './container-usage.js';
import { createImageRequests } from './image-requests.js';
import { createPullHandler } from './pull-handler.js';

const VERSION = '0.1.0';

/**
 * The image-puller: pulls images from OCI registries into the node's content-addressed store
 * (`LXR_HOME/images`) when a container is requested on this node or a pull is asked for, records the
 * outcome in the event log, and answers `list`/`remove`/`prune` requests for the node's images.
 */
export const imagePullerService: ServiceDefinition<typeof imagePullerConfigSpec> = {
  name: 'image-puller',
  perNode: true,
  version: VERSION,
  config: imagePullerConfigSpec,
  async start({ bus, config, logger, signal, onStop, onShutdown }) {
    if (!config.databaseUrl)
      throw new Error('LXR_DATABASE_URL is required: the image-puller records its events in the event log');
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    // Safe to race with the gateway's: the image-puller may come up first.
    await store.migrate();
    const root = path.join(config.home, 'images');
    const images = new ImageStore(root);
    const usage = new ContainerUsage(root);
    // No start-up scan of the store: a partial download from before a crash is resumed by the next
    // pull of that blob, and removed by the next rmi or prune (their gc cleans the ingest directory).
    const client = new RegistryClient({
      credentials: dockerConfigCredentials(
        config.dockerConfig ? path.join(config.dockerConfig, 'config.json') : undefined,
      ),
      mirrors: parseMirrors(config.mirrors),
      insecureRegistries: (config.insecureRegistries ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      userAgent: `lxr-image-puller/${VERSION}`,
      onRetry: (info) => logger.warn(info, 'registry request retried'),
    });
    const puller = new ImagePuller(images, client, { concurrency: config.concurrency });
    const handler = createPullHandler({
      store,
      puller,
      usage,
      node: config.node,
      logger,
      progressIntervalMs: config.progressIntervalMs,
      signal,
    });
    // Durable names allow no dots; node names may have them.
    const durable = nodeDurable('image-puller', config.node);
    const options = {
      handler: (event: Parameters<typeof handler.handle>[0]) => handler.handle(event),
      concurrency: 4,
      maxDeliver: 5,
    };
    await bus.subscribe({
      ...options,
      durable: `${durable}-containers`,
      filterSubject: contextSubject('container'),
    });
    await bus.subscribe({
      ...options,
      durable: `${durable}-requests`,
      filterSubject: 'lxr.events.image.ImagePullRequested',
    });
    const requests = createImageRequests({ images, usage, store, node: config.node });
    const responders = [
      bus.reply(imageRequestSubject(config.node, 'list'), () => requests.list()),
      bus.reply(imageRequestSubject(config.node, 'remove'), (payload) => requests.remove(payload)),
      bus.reply(imageRequestSubject(config.node, 'prune'), () => requests.prune()),
    ];
    onStop('image requests', () => Promise.all(responders.map((r) => r.drain())).then(() => undefined));
    logger.info({ root, node: config.node }, 'image-puller running');
  },
};
