import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { AppendNotifications, EventStore } from '@lxr/event-store';
import { newContainerId, uuidv7 } from '@lxr/events';
import type { Tracer } from '@lxr/telemetry';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { consoleRoutes } from './console/console.routes.js';
import { ContainerHandler } from './containers/container.handler.js';
import { containerRoutes } from './containers/containers.routes.js';
import { generateContainerName } from './domain/names.js';
import { eventRoutes } from './events/events.routes.js';
import type { SseWriter } from './events/sse-writer.js';
import { createGatewayAuth, DEFAULT_LANDING } from './http/auth.js';
import { healthRoutes, type ReadinessCheck } from './http/health.routes.js';
import { loginRoutes } from './http/login.routes.js';
import { createGatewayMetrics, type GatewayMetrics, instrumentRequests } from './http/metrics.js';
import { installProblemHandlers } from './http/problem.js';
import { ideRoutes } from './ide/ide.routes.js';
import { ideProxyRoutes } from './ide/ide-proxy.routes.js';
import { IdeTargets } from './ide/ide-target.js';
import type { ImageNodes } from './images/image-nodes.js';
import { imageRoutes } from './images/images.routes.js';
import type { ExecutorLink } from './lifecycle/executor-link.js';
import { lifecycleRoutes } from './lifecycle/lifecycle.routes.js';
import { networkRoutes } from './networks/networks.routes.js';
import type { NodeDirectory } from './nodes/node-directory.js';
import { nodeRoutes } from './nodes/nodes.routes.js';
import type { ContainersReadModel } from './read-model/containers.read-model.js';
import type { RootfsNodes } from './system/rootfs-nodes.js';
import { systemRoutes } from './system/system.routes.js';
import { timelineRoutes } from './timeline/timeline.routes.js';
import type { VolumeNodes } from './volumes/volume-nodes.js';
import { volumeRoutes } from './volumes/volumes.routes.js';

/** Everything the gateway's HTTP surface needs; `main.ts` builds the real ones, tests their own. */
export interface GatewayDeps {
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
  readonly nodes: NodeDirectory;
  /** The nodes' image-pullers (request/reply); without it image listing and removal answer 503. */
  readonly images?: ImageNodes;
  /** The nodes' rootfs-builders, which keep the volumes; without it volume requests answer 503. */
  readonly volumes?: VolumeNodes;
  /** The nodes' rootfs-builders for `system df`/`prune`; without it those answer 503. */
  readonly rootfs?: RootfsNodes;
  /** The bearer token every request under /v1 and the docs must carry. */
  readonly token: string;
  readonly ids?: { readonly containerId?: () => string; readonly name?: () => string };
  /**
   * Wakes the SSE streams after any append to the log, whoever made it: the PostgreSQL store's
   * LISTEN/NOTIFY in `main.ts`, the in-memory store's `onAppend` in tests. Without it the streams
   * only poll.
   */
  readonly appends?: AppendNotifications;
  readonly metrics?: GatewayMetrics;
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  /** A pino logger, or false for none (the default, for tests). */
  readonly logger?: FastifyBaseLogger | false;
  /** Largest accepted body in bytes; default 1 MiB. */
  readonly bodyLimit?: number;
  readonly sse?: { readonly heartbeatMs?: number; readonly pollMs?: number; readonly batchSize?: number };
  readonly version?: string;
  /** Traces requests that record events, so a creation is one trace; a no-op by default. */
  readonly tracer?: Tracer;
  /** The node agents' executors over NATS, for logs, stats and exec; those answer 503 without it. */
  readonly executors?: ExecutorLink;
}

/** Builds the gateway's fastify app. Connects to nothing: every effect comes in through `deps`. */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    genReqId: () => uuidv7(),
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are checked as sent (no coercion, no stripping of unknown fields); query strings and
  // params are converted to the schema's types first.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.removeContentTypeParser('text/plain');
  installProblemHandlers(app);

  const metrics = deps.metrics ?? createGatewayMetrics();
  // `gatewayAuth.api` guards the API (401 without a credential); `gatewayAuth.page` guards what
  // people open in a browser (console, IDE), sending them to the login form instead.
  const gatewayAuth = createGatewayAuth(deps.token);
  const auth = gatewayAuth.api;
  const streams = new Set<SseWriter>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });
  instrumentRequests(app, metrics);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'lxr API',
        version: deps.version ?? '0.1.0',
        description:
          'Containers made from Linux primitives, recorded as events. Errors are application/problem+json. ' +
          'Authenticate with `Authorization: Bearer <token>` (the token is in `$LXR_HOME/api-token`).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          accessToken: { type: 'apiKey', in: 'query', name: 'access_token' },
        },
      },
      security: [{ bearer: [] }, { accessToken: [] }],
      tags: [
        { name: 'containers', description: 'Containers (docker create, ps, inspect, rm)' },
        { name: 'events', description: 'The event log as Server-Sent Events' },
        { name: 'nodes', description: 'Node agents' },
        { name: 'images', description: 'Images on the nodes (pull, images, rmi, image prune)' },
        { name: 'networks', description: 'Container addresses (lxr network inspect)' },
        { name: 'volumes', description: 'Volumes on the nodes (volume create, ls, inspect, rm, prune)' },
        { name: 'health', description: 'Probes (no token)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: auth } });
  app.get('/openapi.json', { onRequest: auth, schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { readiness: deps.readiness ?? {} });
  await app.register(loginRoutes, { auth: gatewayAuth });
  await app.register(consoleRoutes, { auth: gatewayAuth });
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect(DEFAULT_LANDING, 302));
  await app.register(ideProxyRoutes, {
    targets: new IdeTargets({ store: deps.store, readModel: deps.readModel }),
    auth: gatewayAuth.page,
  });

  const handler = new ContainerHandler({
    store: deps.store,
    nodes: deps.nodes,
    newContainerId: deps.ids?.containerId ?? newContainerId,
    newName: deps.ids?.name ?? (() => generateContainerName()),
    onAppended(events) {
      for (const event of events) metrics.eventsAppended.inc({ type: event.type });
    },
  });
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', auth);
      await v1.register(containerRoutes, {
        handler,
        readModel: deps.readModel,
        store: deps.store,
        tracer: deps.tracer,
      });
      await v1.register(eventRoutes, {
        store: deps.store,
        readModel: deps.readModel,
        appends: deps.appends,
        streams,
        ...deps.sse,
      });
      await v1.register(nodeRoutes, { nodes: deps.nodes });
      await v1.register(imageRoutes, {
        store: deps.store,
        nodes: deps.nodes,
        images: deps.images ?? noImageNodes,
        appends: deps.appends,
      });
      await v1.register(lifecycleRoutes, {
        store: deps.store,
        readModel: deps.readModel,
        executors: deps.executors,
      });
      await v1.register(networkRoutes, { store: deps.store });
      await v1.register(ideRoutes, { store: deps.store, readModel: deps.readModel });
      await v1.register(volumeRoutes, { nodes: deps.nodes, volumes: deps.volumes ?? noVolumeNodes });
      await v1.register(timelineRoutes, { store: deps.store, readModel: deps.readModel });
      await v1.register(systemRoutes, {
        nodes: deps.nodes,
        readModel: deps.readModel,
        handler,
        images: deps.images ?? noImageNodes,
        rootfs: deps.rootfs ?? { df: noRootfsBuilders, prune: noRootfsBuilders },
        tracer: deps.tracer,
      });
    },
    { prefix: '/v1' },
  );
  return app;
}

const unavailable = () => Promise.reject(new Error('the gateway has no connection to the image-pullers'));
const noImageNodes: ImageNodes = { list: unavailable, remove: unavailable, prune: unavailable };
const noRootfsBuilders = () =>
  Promise.reject(new Error('the gateway has no connection to the rootfs-builders'));
const noVolumeNodes: VolumeNodes = {
  create: noRootfsBuilders,
  list: noRootfsBuilders,
  inspect: noRootfsBuilders,
  remove: noRootfsBuilders,
  prune: noRootfsBuilders,
};
