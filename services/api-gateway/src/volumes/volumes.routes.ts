import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VolumeName, VolumePruneResult, VolumeSummary } from '@lxr/events';
import { Type } from '@sinclair/typebox';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import type { NodeDirectory } from '../nodes/node-directory.js';
import { aliveNodeNames, askNode, NodeQuery, nodeField, nodeRunning } from '../nodes/node-requests.js';
import type { VolumeNodes } from './volume-nodes.js';

export interface VolumeRoutesOptions {
  readonly nodes: NodeDirectory;
  readonly volumes: VolumeNodes;
}

const NameParams = Type.Object({ name: VolumeName });
const CreateBody = Type.Object(
  {
    name: Type.Optional(
      Type.String({ ...VolumeName, description: 'docker grammar; a random 64-hex name when absent' }),
    ),
    labels: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.String({ maxLength: 65536 })),
    ),
    node: Type.Optional(nodeField('default: the first alive node whose rootfs-builder runs')),
  },
  { additionalProperties: false },
);
const NodeVolume = Type.Composite([VolumeSummary, Type.Object({ node: Type.String() })]);
const NodePrune = Type.Composite([VolumePruneResult, Type.Object({ node: Type.String() })]);

/**
 * The nodes' volumes, which their rootfs-builders keep (`lxr volume create|ls|inspect|rm|prune`).
 * A name is a node's own: listing, inspection, removal and pruning ask every alive node unless one
 * is named.
 */
export const volumeRoutes: FastifyPluginAsyncTypebox<VolumeRoutesOptions> = async (app, options) => {
  const { nodes, volumes } = options;

  const onNode = <T>(node: string, run: () => Promise<T>) =>
    askNode(
      { node, service: 'rootfs-builder' },
      {
        ROOTFS_VOLUME_NOT_FOUND: ErrorCode.VolumeNotFound,
        ROOTFS_VOLUME_IN_USE: ErrorCode.VolumeInUse,
        ROOTFS_VOLUME_INVALID: ErrorCode.InvalidRequest,
        ROOTFS_VOLUME_CONFLICT: ErrorCode.ConcurrentModification,
      },
      ErrorCode.RootfsBuilderUnavailable,
      run,
    );

  /** Asks each node; with several, a node without the volume is passed by, but one must have it. */
  async function onNodesHaving<T>(
    names: readonly string[],
    volume: string,
    run: (node: string) => Promise<T>,
  ): Promise<(T & { node: string })[]> {
    const results = await Promise.all(
      names.map((node) =>
        onNode(node, () => run(node)).then(
          (r) => ({ ...r, node }),
          (error: unknown) => {
            if (names.length > 1 && error instanceof GatewayError && error.code === ErrorCode.VolumeNotFound)
              return undefined;
            throw error;
          },
        ),
      ),
    );
    const found = results.filter((r) => r !== undefined);
    if (found.length === 0)
      throw new GatewayError(
        ErrorCode.VolumeNotFound,
        `no node has a volume "${volume}" (lxr volume ls lists them)`,
      );
    return found;
  }

  app.get(
    '/volumes',
    {
      schema: {
        operationId: 'listVolumes',
        summary: 'Volumes on the nodes (lxr volume ls)',
        tags: ['volumes'],
        querystring: NodeQuery,
        response: { 200: Type.Array(NodeVolume), ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request) => {
      const names = await aliveNodeNames(nodes, request.query.node);
      const lists = await Promise.all(
        names.map((node) =>
          onNode(node, () => volumes.list(node)).then((l) => l.map((v) => ({ ...v, node }))),
        ),
      );
      return lists.flat();
    },
  );

  app.post(
    '/volumes',
    {
      schema: {
        operationId: 'createVolume',
        summary: 'Create a volume on a node (lxr volume create); an existing one of the name is returned',
        tags: ['volumes'],
        body: CreateBody,
        response: { 201: NodeVolume, ...problemResponses(...commonProblems, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const { node: wanted, ...create } = request.body;
      const node = await nodeRunning(nodes, wanted, 'rootfs-builder', ErrorCode.RootfsBuilderUnavailable);
      const volume = await onNode(node, () => volumes.create(node, create));
      return reply.code(201).send({ ...volume, node });
    },
  );

  app.get(
    '/volumes/:name',
    {
      schema: {
        operationId: 'inspectVolume',
        summary:
          'A volume, with its size and the containers using it, on each node that has it (lxr volume inspect)',
        tags: ['volumes'],
        params: NameParams,
        querystring: NodeQuery,
        response: { 200: Type.Array(NodeVolume), ...problemResponses(...commonProblems, 404, 422, 503) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const names = await aliveNodeNames(nodes, request.query.node);
      return onNodesHaving(names, name, (node) => volumes.inspect(node, name));
    },
  );

  app.delete(
    '/volumes/:name',
    {
      schema: {
        operationId: 'removeVolume',
        summary: 'Remove a volume and its data (lxr volume rm); refused while a container uses it',
        description:
          'As docker: a volume in use is refused (409 VOLUME_IN_USE) even with `force`, which only makes a ' +
          'missing volume no error.',
        tags: ['volumes'],
        params: NameParams,
        querystring: Type.Composite([
          NodeQuery,
          Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) }),
        ]),
        response: { 200: Type.Array(NodePrune), ...problemResponses(...commonProblems, 404, 409, 422, 503) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const force = request.query.force ?? false;
      const names = await aliveNodeNames(nodes, request.query.node);
      if (force)
        return Promise.all(
          names.map((node) =>
            onNode(node, () => volumes.remove(node, name, true)).then((r) => ({ ...r, node })),
          ),
        );
      return onNodesHaving(names, name, (node) => volumes.remove(node, name, false));
    },
  );

  app.post(
    '/volumes/prune',
    {
      schema: {
        operationId: 'pruneVolumes',
        summary: 'Remove unused volumes (lxr volume prune): anonymous ones, every unused one with `all`',
        tags: ['volumes'],
        querystring: Type.Composite([
          NodeQuery,
          Type.Object({
            all: Type.Optional(
              Type.Boolean({ default: false, description: 'named volumes too (docker ≥ 23: -a)' }),
            ),
          }),
        ]),
        response: { 200: Type.Array(NodePrune), ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request) => {
      const names = await aliveNodeNames(nodes, request.query.node);
      const all = request.query.all ?? false;
      return Promise.all(
        names.map((node) => onNode(node, () => volumes.prune(node, all)).then((r) => ({ ...r, node }))),
      );
    },
  );
};
