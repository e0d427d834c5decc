import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '@lxr/event-store';
import { containerStream } from '@lxr/events';
import { type Tracer, withServerSpan } from '@lxr/telemetry';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import {
  Container,
  ContainerDetails,
  ContainerRef,
  CreateContainerBody,
  ListContainersQuery,
  RemovedContainer,
} from '../http/schemas.js';
import { requestedView } from '../read-model/containers.projector.js';
import {
  type ContainerFilter,
  type ContainersReadModel,
  findContainer,
  resolveContainer,
} from '../read-model/containers.read-model.js';
import type { ContainerHandler, RequestContext } from './container.handler.js';

export interface ContainerRoutesOptions {
  readonly handler: ContainerHandler;
  readonly readModel: ContainersReadModel;
  readonly store: EventStore;
  /** Traces each recording request; a no-op by default. */
  readonly tracer?: Tracer;
}

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Makes the create safe to retry: the same key and body return the same container',
    }),
  ),
});

function labelFilter(label: string | string[] | undefined): ContainerFilter['labels'] {
  if (label === undefined) return undefined;
  return (Array.isArray(label) ? label : [label]).map((l) => {
    const eq = l.indexOf('=');
    return eq < 0 ? { key: l } : { key: l.slice(0, eq), value: l.slice(eq + 1) };
  });
}

export const containerRoutes: FastifyPluginAsyncTypebox<ContainerRoutesOptions> = async (
  app,
  { handler, readModel, store, tracer },
) => {
  /**
   * Runs a request that records events in a server span named after its route: the events carry
   * the request id as their causation and the span's trace context.
   */
  const recording = <T>(request: FastifyRequest, record: (context: RequestContext) => Promise<T>) =>
    withServerSpan(
      request.method,
      request.routeOptions.url ?? request.url,
      request.headers,
      (trace) => record({ requestId: String(request.id), ...trace }),
      { tracer },
    );

  app.post(
    '/containers',
    {
      schema: {
        operationId: 'createContainer',
        summary: 'Create a container (docker create)',
        description:
          'Records ContainerRequested on a live node agent and reserves the name. With an Idempotency-Key, a retry ' +
          'with the same body answers 200 with the same container; another body with the same key answers 422.',
        tags: ['containers'],
        headers: IdempotencyHeaders,
        body: CreateContainerBody,
        response: {
          201: { description: 'Created', ...Container },
          200: { description: 'Replayed: created earlier with this Idempotency-Key', ...Container },
          ...problemResponses(...commonProblems, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const outcome = await recording(request, (context) =>
        handler.create(request.body, { ...context, idempotencyKey: request.headers['idempotency-key'] }),
      );
      let view = requestedView(outcome.recorded);
      if (outcome.replayed) {
        // Created earlier: answer the container as it is now.
        view = (await findContainer(readModel, view.id)) ?? view;
        reply.header('idempotent-replayed', 'true');
      }
      reply.header('location', `/v1/containers/${view.id}`);
      return reply.status(outcome.replayed ? 200 : 201).send(view);
    },
  );

  app.get(
    '/containers',
    {
      schema: {
        operationId: 'listContainers',
        summary: 'List containers (docker ps)',
        tags: ['containers'],
        querystring: ListContainersQuery,
        response: { 200: Type.Array(Container), ...problemResponses(...commonProblems) },
      },
    },
    async (request) => {
      const { label, ...filter } = request.query;
      await readModel.catchUp();
      return readModel.list({ ...filter, labels: labelFilter(label) });
    },
  );

  app.get(
    '/containers/:ref',
    {
      schema: {
        operationId: 'getContainer',
        summary: 'One container and its event history (docker inspect)',
        tags: ['containers'],
        params: ContainerRef,
        response: { 200: ContainerDetails, ...problemResponses(...commonProblems, 404, 409) },
      },
    },
    async (request) => {
      const container = await resolveContainer(readModel, request.params.ref);
      const events = await store.readStream(containerStream(container.id));
      return { ...container, events: [...events] };
    },
  );

  app.delete(
    '/containers/:ref',
    {
      schema: {
        operationId: 'removeContainer',
        summary: 'Remove a container (docker rm)',
        description:
          'Records ContainerRemoved and releases the name; the executor then kills it and removes what it left ' +
          'on the node. A running container needs `force=true` (docker rm -f). A second remove answers 404, as ' +
          'docker does.',
        tags: ['containers'],
        params: ContainerRef,
        querystring: Type.Object({
          force: Type.Optional(Type.Boolean({ description: 'Remove it even if running' })),
          volumes: Type.Optional(
            Type.Boolean({ description: 'Its anonymous volumes go too (docker rm -v)' }),
          ),
        }),
        response: { 200: RemovedContainer, ...problemResponses(...commonProblems, 404, 409) },
      },
    },
    async (request) => {
      const container = await resolveContainer(readModel, request.params.ref);
      if (container.state === 'running' && !request.query.force) {
        throw new GatewayError(
          ErrorCode.ContainerRunning,
          `container ${container.name} is running; stop it first (lxr stop ${container.name}) or remove it anyway with force=true (lxr rm -f)`,
        );
      }
      const volumes = request.query.volumes ?? false;
      return recording(request, (context) => handler.remove(container.id, context, { volumes }));
    },
  );
};
