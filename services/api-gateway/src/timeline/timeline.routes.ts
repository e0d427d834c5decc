import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '@lxr/event-store';
import { containerStream, ideStream, imagePullStream, networkStream, rootfsStream } from '@lxr/events';
import { commonProblems, problemResponses } from '../http/responses.js';
import { ContainerRef } from '../http/schemas.js';
import { type ContainersReadModel, resolveContainer } from '../read-model/containers.read-model.js';
import { buildTimeline, Timeline } from './timeline.js';

export interface TimelineRoutesOptions {
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
}

/** The streams a container's creation writes to, one per service that takes part in it. */
const creationStreams = (id: string) => [
  containerStream(id),
  // A container's own pull is the pull `image-pull-<container id>` (the image-puller's `pullId`).
  imagePullStream(id),
  rootfsStream(id),
  networkStream(id),
  ideStream(id),
];

export const timelineRoutes: FastifyPluginAsyncTypebox<TimelineRoutesOptions> = async (
  app,
  { store, readModel },
) => {
  app.get(
    '/containers/:ref/timeline',
    {
      schema: {
        operationId: 'containerTimeline',
        summary: "A container's creation, step by step, with each step's duration",
        description:
          'Requested → image pulled → root filesystem prepared → network ready → started → IDE ready, from ' +
          "the events of the container's streams: each step's status, the event that ended it and its " +
          'time, its duration from the end of the steps it waits for (pull and network start at the ' +
          "request; the root filesystem waits for the image, the start for both, the IDE for the start), a failure's " +
          'reason code and message; and every event about the container in log order.',
        tags: ['containers'],
        params: ContainerRef,
        response: { 200: Timeline, ...problemResponses(...commonProblems, 404) },
      },
    },
    async (request) => {
      const container = await resolveContainer(readModel, request.params.ref);
      const streams = await Promise.all(creationStreams(container.id).map((s) => store.readStream(s)));
      return buildTimeline(container.id, streams.flat());
    },
  );
};
