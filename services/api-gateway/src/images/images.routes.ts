import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppendNotifications, EventStore } from '@lxr/event-store';
import {
  type EventData,
  ImagePruneResult,
  ImageRemoveResult,
  ImageSummary,
  imagePullRequestStream,
  imagePullStream,
  type RecordedEvent,
  uuidv7,
} from '@lxr/events';
import { Type } from '@sinclair/typebox';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import type { NodeDirectory } from '../nodes/node-directory.js';
import { aliveNodeNames, askNode, NodeQuery, nodeField, nodeRunning } from '../nodes/node-requests.js';
import type { ImageNodes } from './image-nodes.js';

export interface ImageRoutesOptions {
  readonly store: EventStore;
  readonly nodes: NodeDirectory;
  readonly images: ImageNodes;
  /** Wakes a pull's progress stream after appends; it polls without. */
  readonly appends?: AppendNotifications;
  readonly pollMs?: number;
}

const PullBody = Type.Object(
  {
    reference: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'docker grammar: `golang` = docker.io/library/golang:latest',
    }),
    platform: Type.Optional(
      Type.String({ pattern: '^[a-z0-9_.-]+/[a-z0-9_]+(/[a-z0-9]+)?$', description: 'os/arch[/variant]' }),
    ),
    node: Type.Optional(nodeField('default: the first alive node')),
  },
  { additionalProperties: false },
);
const PullQuery = Type.Object({
  wait: Type.Optional(
    Type.Boolean({
      default: true,
      description: 'stream progress until the outcome (NDJSON); false answers 202 at once',
    }),
  ),
});
const PullAccepted = Type.Object({ pullId: Type.String(), node: Type.String(), reference: Type.String() });
const NodeImage = Type.Composite([ImageSummary, Type.Object({ node: Type.String() })]);

/** The images of the nodes: pull (recorded as `ImagePullRequested`), list, remove, prune. */
export const imageRoutes: FastifyPluginAsyncTypebox<ImageRoutesOptions> = async (app, options) => {
  const { store, nodes, images } = options;

  const aliveNodes = (wanted: string | undefined) => aliveNodeNames(nodes, wanted);
  /** The node to pull on: the one asked for, else the first whose image-puller heartbeats. */
  const pullingNode = (wanted: string | undefined) =>
    nodeRunning(nodes, wanted, 'image-puller', ErrorCode.ImagePullerUnavailable);
  /** Turns a node's answer into problem+json; the image-puller's own codes map to the gateway's. */
  const onNode = <T>(node: string, run: () => Promise<T>) =>
    askNode(
      { node, service: 'image-puller' },
      {
        OCI_IMAGE_NOT_KNOWN: ErrorCode.ImageNotFound,
        OCI_IMAGE_IN_USE: ErrorCode.ImageInUse,
        OCI_INVALID_REFERENCE: ErrorCode.InvalidRequest,
      },
      ErrorCode.ImagePullerUnavailable,
      run,
    );

  app.get(
    '/images',
    {
      schema: {
        operationId: 'listImages',
        summary: 'Images on the nodes (lxr images)',
        tags: ['images'],
        querystring: NodeQuery,
        response: { 200: Type.Array(NodeImage), ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request) => {
      const names = await aliveNodes(request.query.node);
      const lists = await Promise.all(
        names.map((node) =>
          onNode(node, () => images.list(node)).then((l) => l.map((i) => ({ ...i, node }))),
        ),
      );
      return lists.flat();
    },
  );

  app.delete(
    '/images/:ref',
    {
      schema: {
        operationId: 'removeImage',
        summary: 'Remove an image by reference or id (lxr rmi); its unused blobs are freed',
        tags: ['images'],
        params: Type.Object({
          ref: Type.String({
            minLength: 1,
            maxLength: 1024,
            description: 'a reference, URL-encoded (`localhost%3A5000%2Fapp%3A1`), or an image id (prefix)',
          }),
        }),
        querystring: Type.Composite([
          NodeQuery,
          Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) }),
        ]),
        response: {
          200: Type.Array(Type.Composite([ImageRemoveResult, Type.Object({ node: Type.String() })])),
          ...problemResponses(...commonProblems, 404, 409, 422, 503),
        },
      },
    },
    async (request) => {
      const image = request.params.ref;
      const names = await aliveNodes(request.query.node);
      const results = await Promise.all(
        names.map((node) =>
          onNode(node, () => images.remove(node, image, request.query.force ?? false)).then(
            (r) => ({ ...r, node }),
            (error: unknown) => {
              // With several nodes, "not here" is fine as long as some node had it.
              if (names.length > 1 && error instanceof GatewayError && error.code === ErrorCode.ImageNotFound)
                return undefined;
              throw error;
            },
          ),
        ),
      );
      const done = results.filter((r) => r !== undefined);
      if (done.length === 0)
        throw new GatewayError(ErrorCode.ImageNotFound, `no node has an image "${image}"`);
      return done;
    },
  );

  app.post(
    '/images/prune',
    {
      schema: {
        operationId: 'pruneImages',
        summary: 'Remove dangling images and every blob no image uses (lxr image prune)',
        tags: ['images'],
        querystring: NodeQuery,
        response: {
          200: Type.Array(Type.Composite([ImagePruneResult, Type.Object({ node: Type.String() })])),
          ...problemResponses(...commonProblems, 422, 503),
        },
      },
    },
    async (request) => {
      const names = await aliveNodes(request.query.node);
      return Promise.all(
        names.map((node) => onNode(node, () => images.prune(node)).then((r) => ({ ...r, node }))),
      );
    },
  );

  app.post(
    '/images/pull',
    {
      schema: {
        operationId: 'pullImage',
        summary:
          'Pull an image on a node (lxr pull); streams progress as NDJSON until it is pulled or failed',
        description:
          'Records `ImagePullRequested`. With `wait` (the default) the answer is `application/x-ndjson`: one line per ' +
          '`ImagePullProgress`, then the `ImagePulled` or `ImagePullFailed` event, each `{"type", "data"}`.',
        tags: ['images'],
        body: PullBody,
        querystring: PullQuery,
        response: { 202: PullAccepted, ...problemResponses(...commonProblems, 422, 503) },
      },
    },
    async (request, reply) => {
      const node = await pullingNode(request.body.node);
      const pullId = uuidv7();
      const data: EventData<'ImagePullRequested'> = {
        pullId,
        reference: request.body.reference,
        node,
        ...(request.body.platform ? { platform: request.body.platform } : {}),
      };
      await store.append(imagePullRequestStream(pullId), 'no-stream', [
        { type: 'ImagePullRequested', data, correlationId: pullId, causationId: request.id },
      ]);
      if (request.query.wait === false)
        return reply.code(202).send({ pullId, node, reference: request.body.reference });

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'application/x-ndjson',
        'cache-control': 'no-store',
        'x-lxr-pull-id': pullId,
      });
      raw.write(`${JSON.stringify({ type: 'ImagePullRequested', data })}\n`);
      let closed = false;
      let wake: () => void = () => {};
      raw.on('close', () => {
        closed = true;
        wake();
      });
      const unsubscribe = options.appends?.subscribe(() => wake()) ?? (() => {});
      try {
        let version = 0;
        while (!closed) {
          const events: readonly RecordedEvent[] = await store.readStream(imagePullStream(pullId), {
            fromVersion: version + 1,
          });
          for (const event of events) {
            version = event.metadata.streamVersion;
            raw.write(`${JSON.stringify({ type: event.type, data: event.data })}\n`);
            if (event.type === 'ImagePulled' || event.type === 'ImagePullFailed') closed = true;
          }
          if (closed) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, options.pollMs ?? 500);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } finally {
        unsubscribe();
        raw.end();
      }
    },
  );
};
