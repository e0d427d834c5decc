import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '@lxr/event-store';
import { containerStream, type RecordedEvent } from '@lxr/events';
import { type Tracer, withServerSpan } from '@lxr/telemetry';
import { Type } from '@sinclair/typebox';
import type { ContainerRequest } from '../domain/container.decider.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import {
  Container,
  ContainerDetails,
  ContainerRef,
  CreateContainerBody,
  ListContainersQuery,
  RemovedContainer,
} from '../http/schemas.js';
import {
  type ContainerFilter,
  type ContainersReadModel,
  type ContainerView,
  resolveContainer,
} from '../read-model/containers.read-model.js';
import type { ContainerHandler } from './container.handler.js';

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

/** The container as just recorded, for when the read model has not caught up with it. */
function viewOf(request: ContainerRequest, recorded: RecordedEvent): ContainerView {
  return {
    id: request.containerId,
    name: request.name,
    image: request.image,
    node: request.node,
    state: 'requested',
    command: request.command ?? null,
    env: request.env,
    labels: request.labels,
    ide: request.ide,
    resources: request.resources,
    createdAt: recorded.metadata.timestamp,
    updatedAt: recorded.metadata.timestamp,
    pid: null,
    ip: null,
    netns: null,
    position: recorded.metadata.position,
  };
}

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
      const outcome = await withServerSpan(
        'POST',
        '/v1/containers',
        request.headers,
        (trace) =>
          handler.create(request.body, {
            requestId: String(request.id),
            idempotencyKey: request.headers['idempotency-key'],
            ...trace,
          }),
        { tracer },
      );
      let view = viewOf(outcome.request, outcome.recorded);
      if (outcome.replayed) {
        await readModel.catchUp();
        view = (await readModel.lookup(view.id)).find((c) => c.id === view.id) ?? view;
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
      const { all, name, image, node, state, label } = request.query;
      await readModel.catchUp();
      const labels = labelFilter(label);
      return readModel.list({
        ...(all === undefined ? {} : { all }),
        ...(name === undefined ? {} : { name }),
        ...(image === undefined ? {} : { image }),
        ...(node === undefined ? {} : { node }),
        ...(state === undefined ? {} : { state }),
        ...(labels === undefined ? {} : { labels }),
      });
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
      await readModel.catchUp();
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
          'Records ContainerRemoved and releases the name. A second remove answers 404, as docker does.',
        tags: ['containers'],
        params: ContainerRef,
        response: { 200: RemovedContainer, ...problemResponses(...commonProblems, 404, 409) },
      },
    },
    async (request) => {
      await readModel.catchUp();
      const container = await resolveContainer(readModel, request.params.ref);
      return withServerSpan(
        'DELETE',
        '/v1/containers/:ref',
        request.headers,
        (trace) => handler.remove(container.id, { requestId: String(request.id), ...trace }),
        { tracer },
      );
    },
  );
};
