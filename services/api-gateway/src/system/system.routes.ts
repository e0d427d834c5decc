import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type DiskUsageRow,
  type ImageSummary,
  type RootfsDiskUsage,
  SystemDiskUsage,
  SystemPruneResult,
} from '@lxr/events';
import { type Tracer, withServerSpan } from '@lxr/telemetry';
import { Type } from '@sinclair/typebox';
import type { ContainerHandler } from '../containers/container.handler.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import type { ImageNodes } from '../images/image-nodes.js';
import type { NodeDirectory } from '../nodes/node-directory.js';
import { aliveNodeNames, askNode, NodeQuery } from '../nodes/node-requests.js';
import { type ContainersReadModel, FINAL_STATES } from '../read-model/containers.read-model.js';
import type { RootfsNodes } from './rootfs-nodes.js';

export interface SystemRoutesOptions {
  readonly nodes: NodeDirectory;
  readonly readModel: ContainersReadModel;
  readonly handler: ContainerHandler;
  readonly images: ImageNodes;
  readonly rootfs: RootfsNodes;
  /** How long a prune waits for the nodes to finish removing the containers it removed. */
  readonly settleMs?: number;
  readonly tracer?: Tracer;
}

const PruneBody = Type.Object(
  {
    all: Type.Optional(
      Type.Boolean({
        description: 'every image no container uses, not only dangling ones (and named volumes)',
      }),
    ),
    volumes: Type.Optional(
      Type.Boolean({ description: 'unused volumes too (anonymous; with `all`, named too)' }),
    ),
  },
  { additionalProperties: false },
);

const row = (items: readonly { size: number; used: boolean }[]): DiskUsageRow => ({
  total: items.length,
  active: items.filter((i) => i.used).length,
  size: items.reduce((s, i) => s + i.size, 0),
  reclaimable: items.filter((i) => !i.used).reduce((s, i) => s + i.size, 0),
});

/** `lxr system df` and `lxr system prune`: what lxr keeps on the nodes' disks, and getting it back. */
export const systemRoutes: FastifyPluginAsyncTypebox<SystemRoutesOptions> = async (app, options) => {
  const { nodes, readModel, handler, images, rootfs, tracer } = options;
  const settleMs = options.settleMs ?? 20_000;
  const onImages = <T>(node: string, run: () => Promise<T>) =>
    askNode({ node, service: 'image-puller' }, {}, ErrorCode.ImagePullerUnavailable, run);
  const onRootfs = <T>(node: string, run: () => Promise<T>) =>
    askNode({ node, service: 'rootfs-builder' }, {}, ErrorCode.RootfsBuilderUnavailable, run);

  app.get(
    '/system/df',
    {
      schema: {
        operationId: 'systemDiskUsage',
        summary: 'Disk used by images, containers, volumes and the layer cache (lxr system df)',
        description:
          'Images: compressed layer blobs, active when a container uses the image. Containers: what each wrote ' +
          '(its overlay upper directory), active while running. Local volumes: their data, active while a ' +
          'container uses them. Layer cache: unpacked layers, active while a container stacks them; the rest ' +
          'is reclaimable once no image lists them (`lxr system prune -a`).',
        tags: ['system'],
        querystring: NodeQuery,
        response: { 200: SystemDiskUsage, ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request) => {
      const names = await aliveNodeNames(nodes, request.query.node);
      await readModel.catchUp();
      const containers = (await readModel.list({ all: true })).filter((c) => names.includes(c.node));
      const perNode = await Promise.all(
        names.map(async (node) => {
          const [list, disk] = await Promise.all([
            onImages(node, () => images.list(node)),
            onRootfs(node, () => rootfs.df(node)),
          ]);
          return { images: list, disk };
        }),
      );
      const written = new Map(perNode.flatMap((n) => n.disk.containers.map((c) => [c.containerId, c.size])));
      const all = <T>(pick: (n: { images: ImageSummary[]; disk: RootfsDiskUsage }) => T[]) =>
        perNode.flatMap(pick);
      return {
        images: row(all((n) => n.images.map((i) => ({ size: i.size, used: i.containers > 0 })))),
        // Every container, as docker counts them; the size is what it wrote (none before its root fs).
        containers: row(
          containers.map((c) => ({ size: written.get(c.id) ?? 0, used: c.state === 'running' })),
        ),
        volumes: row(
          all((n) => n.disk.volumes.map((v) => ({ size: v.size ?? 0, used: v.containers.length > 0 }))),
        ),
        layers: row(all((n) => n.disk.layers.map((l) => ({ size: l.size, used: l.containers > 0 })))),
      };
    },
  );

  app.post(
    '/system/prune',
    {
      schema: {
        operationId: 'systemPrune',
        summary:
          'Remove stopped containers, unused images, unused layers and (optionally) volumes (lxr system prune)',
        description:
          'Removes every container that is not running (as `DELETE /v1/containers/{ref}` does), waits for the ' +
          'nodes to take them down, then removes dangling images (with `all`: every image no container uses), ' +
          'the cached layers no image or container uses, and with `volumes` the unused anonymous volumes ' +
          '(with `all` named ones too).',
        tags: ['system'],
        querystring: NodeQuery,
        body: PruneBody,
        response: { 200: SystemPruneResult, ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request) => {
      const names = await aliveNodeNames(nodes, request.query.node);
      const all = request.body.all === true;
      await readModel.catchUp();
      const containers = (await readModel.list({ all: true })).filter((c) => names.includes(c.node));
      const doomed = containers.filter((c) => FINAL_STATES.includes(c.state));
      const disks = await Promise.all(names.map((node) => onRootfs(node, () => rootfs.df(node))));
      const written = new Map(disks.flatMap((d) => d.containers.map((c) => [c.containerId, c.size])));
      const context = { requestId: String(request.id) };
      const containersDeleted: string[] = [];
      await withServerSpan(
        request.method,
        request.routeOptions.url ?? request.url,
        request.headers,
        async (trace) => {
          for (const c of doomed) {
            await handler.remove(c.id, { ...context, ...trace }).then(
              () => containersDeleted.push(c.id),
              // Removed meanwhile by someone else: nothing to do.
              (error: unknown) => {
                if (!(error instanceof GatewayError && error.code === ErrorCode.ContainerNotFound))
                  throw error;
              },
            );
          }
        },
        { tracer },
      );
      let spaceReclaimed = containersDeleted.reduce((s, id) => s + (written.get(id) ?? 0), 0);
      const imagesDeleted: string[] = [];
      let layersDeleted = 0;
      const volumesDeleted: string[] = [];
      for (const node of names) {
        const remaining = containers.filter(
          (c) => c.node === node && !containersDeleted.includes(c.id),
        ).length;
        await settle(node, containersDeleted, remaining);
        if (all) {
          for (const image of await onImages(node, () => images.list(node))) {
            if (image.containers > 0) continue;
            const removed = await onImages(node, () => images.remove(node, image.id, false)).catch(
              (error: unknown) => {
                // Taken by a new container meanwhile: it stays.
                if (error instanceof GatewayError && error.code === ErrorCode.ImagePullerUnavailable)
                  throw error;
                return undefined;
              },
            );
            if (!removed) continue;
            imagesDeleted.push(...removed.deleted);
            spaceReclaimed += removed.bytesFreed;
          }
        }
        const pruned = await onImages(node, () => images.prune(node));
        imagesDeleted.push(...pruned.imagesRemoved);
        spaceReclaimed += pruned.bytesFreed;
        const layers = await onRootfs(node, () =>
          rootfs.prune(node, { volumes: request.body.volumes === true, all }),
        );
        layersDeleted += layers.layersRemoved;
        spaceReclaimed += layers.bytesFreed + (layers.volumes?.reclaimedBytes ?? 0);
        volumesDeleted.push(...(layers.volumes?.removed ?? []));
      }
      return { containersDeleted, imagesDeleted, layersDeleted, volumesDeleted, spaceReclaimed };
    },
  );

  /**
   * Waits until a node's rootfs-builder has taken the removed containers down and its image-puller
   * counts no more users than the containers left: only then are their images and layers unused.
   */
  async function settle(node: string, removed: readonly string[], remaining: number): Promise<void> {
    if (removed.length === 0) return;
    const deadline = Date.now() + settleMs;
    for (;;) {
      const [disk, list] = await Promise.all([
        onRootfs(node, () => rootfs.df(node)),
        onImages(node, () => images.list(node)),
      ]);
      const down = !disk.containers.some((c) => removed.includes(c.containerId));
      const users = list.reduce((s, i) => s + i.containers, 0);
      if (down && users <= remaining) return;
      if (Date.now() > deadline) return; // prune what is unused by then; the rest goes next time
      await sleep(100);
    }
  }
};
