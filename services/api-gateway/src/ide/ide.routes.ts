import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '@lxr/event-store';
import { type EventData, idePath, ideStream, type RecordedEvent } from '@lxr/events';
import { type Static, Type } from '@sinclair/typebox';
import { commonProblems, problemResponses } from '../http/responses.js';
import { type ContainersReadModel, resolveContainer } from '../read-model/containers.read-model.js';

export const IdeStatusSchema = Type.Object({
  containerId: Type.String(),
  name: Type.String(),
  /** `disabled` (no IDE), `stopped` (the container is not running), `starting`, `ready`, `failed`. */
  state: Type.Union([
    Type.Literal('disabled'),
    Type.Literal('stopped'),
    Type.Literal('starting'),
    Type.Literal('ready'),
    Type.Literal('failed'),
  ]),
  /** The gateway path of the IDE: `/ide/<name>/`. */
  path: Type.String(),
  /** Launches of code-server since the container was created. */
  attempts: Type.Integer(),
  readyAt: Type.Union([Type.String(), Type.Null()]),
  /** Milliseconds code-server took to answer, for the last `IdeReady`. */
  startMs: Type.Union([Type.Integer(), Type.Null()]),
  /** The last failure, while not ready. */
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
});
export type IdeStatus = Static<typeof IdeStatusSchema>;

/** The IDE's state from its `ide-<id>` stream and the container's state. Pure. */
export function ideStatus(
  container: { id: string; name: string; ide: boolean; state: string },
  events: readonly RecordedEvent[],
): IdeStatus {
  const ready = events.findLast((e) => e.type === 'IdeReady')?.data as EventData<'IdeReady'> | undefined;
  const last = events.at(-1);
  const failed = last?.type === 'IdeFailed' ? (last.data as EventData<'IdeFailed'>) : undefined;
  const state: IdeStatus['state'] = !container.ide
    ? 'disabled'
    : container.state !== 'running'
      ? 'stopped'
      : last?.type === 'IdeReady'
        ? 'ready'
        : failed
          ? 'failed'
          : 'starting';
  return {
    containerId: container.id,
    name: container.name,
    state,
    path: idePath(container.name),
    attempts: events.filter((e) => e.type === 'IdeStarting').length,
    readyAt: state === 'ready' ? (ready?.readyAt ?? null) : null,
    startMs: state === 'ready' ? (ready?.startMs ?? null) : null,
    error: failed ? { code: failed.code, message: failed.message } : null,
  };
}

export const ideRoutes: FastifyPluginAsyncTypebox<{
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
}> = async (app, { store, readModel }) => {
  app.get(
    '/containers/:ref/ide',
    {
      schema: {
        operationId: 'getContainerIde',
        summary: "A container's IDE: its state and its path on the gateway (lxr ide)",
        tags: ['containers'],
        params: Type.Object({ ref: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: IdeStatusSchema, ...problemResponses(404, 409, ...commonProblems) },
      },
    },
    async (request) => {
      const container = await resolveContainer(readModel, request.params.ref);
      return ideStatus(container, await store.readStream(ideStream(container.id)));
    },
  );
};
