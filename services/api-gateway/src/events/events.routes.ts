import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type AppendNotifications, type EventStore, UnknownPositionError } from '@lxr/event-store';
import type { RecordedEvent } from '@lxr/events';
import { Type } from '@sinclair/typebox';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import { EventsQuery } from '../http/schemas.js';
import { type ContainersReadModel, findContainer } from '../read-model/containers.read-model.js';
import { containerMatcher, typeMatcher } from './event-filter.js';
import { SseWriter } from './sse-writer.js';

export interface EventRoutesOptions {
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
  /** Wakes the streams after an append; without it they only poll. */
  readonly appends?: AppendNotifications;
  /** Open streams, so the app can end them when it closes. */
  readonly streams: Set<SseWriter>;
  /** Comment lines that keep proxies from closing an idle stream; default 15 s. */
  readonly heartbeatMs?: number;
  /** Re-read the log this often even without a notification; default 2 s. */
  readonly pollMs?: number;
  /** Events read from the log per query; default 500. */
  readonly batchSize?: number;
}

const SseHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,16}$',
      description: 'Resume after this position (sent by EventSource on reconnect)',
    }),
  ),
});

export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, options) => {
  const { store, readModel, appends, streams } = options;
  const batchSize = options.batchSize ?? 500;
  app.get(
    '/events',
    {
      schema: {
        operationId: 'streamEvents',
        summary: 'Server-Sent Events of the event log (docker events)',
        description:
          'Each recorded event as `event: <type>`, `id: <position>`, `data: <recorded event JSON>`, in log order. ' +
          'Resume with the `Last-Event-ID` header (EventSource does it) or `?after=`; `after=0` starts from the ' +
          'beginning (the default); `live=true` sends only new events. Comment lines keep the connection alive. ' +
          '`follow=false` ends once the log is read.',
        tags: ['events'],
        querystring: EventsQuery,
        headers: SseHeaders,
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'An event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...problemResponses(...commonProblems, 409),
        },
      },
    },
    async (request, reply) => {
      const { query } = request;
      const header = request.headers['last-event-id'];
      let cursor = header === undefined ? (query.after ?? 0) : Number(header);
      const matchesType = typeMatcher(query.type);
      let matchesContainer: (event: RecordedEvent) => boolean = () => true;
      if (query.container !== undefined) {
        // A container that does not exist (yet, or any more) is followed by its name or id prefix.
        const known = await findContainer(readModel, query.container);
        matchesContainer = containerMatcher(query.container, known ? [known.id] : []);
      }
      // The first read happens before the stream opens so a bad cursor is still a 400 problem.
      let pending = await readOrExplain(store, cursor, batchSize);
      const live = query.live === true && header === undefined && query.after === undefined;
      if (live) {
        // Skip to the end of the log: nothing recorded so far is sent.
        while (pending.length > 0) {
          cursor = pending.at(-1)!.metadata.position;
          pending =
            pending.length < batchSize ? [] : await store.readAll({ after: cursor, limit: batchSize });
        }
      }

      const sse = new SseWriter(reply, request.log);
      streams.add(sse);
      const heartbeat = setInterval(() => sse.comment('keep-alive', cursor), options.heartbeatMs ?? 15_000);
      try {
        await sse.open();
        if (live) sse.comment('live', cursor);
        for (;;) {
          for (const event of pending) {
            cursor = event.metadata.position;
            if (matchesType(event) && matchesContainer(event)) await sse.event(event);
            if (sse.closed) return;
          }
          if (pending.length < batchSize) {
            if (query.follow === false) return;
            await waitForAppend(appends, sse, options.pollMs ?? 2_000);
            if (sse.closed) return;
          }
          pending = await store.readAll({ after: cursor, limit: batchSize });
        }
      } catch (error) {
        // Mid-stream the status line is gone: end the stream and let the client resume from its last id.
        if (!sse.closed) request.log.warn({ err: error, cursor }, 'event stream failed; ending it');
      } finally {
        clearInterval(heartbeat);
        streams.delete(sse);
        sse.end();
      }
    },
  );
};

async function readOrExplain(
  store: EventStore,
  after: number,
  limit: number,
): Promise<readonly RecordedEvent[]> {
  try {
    return await store.readAll({ after, limit });
  } catch (error) {
    if (error instanceof UnknownPositionError) {
      throw new GatewayError(
        ErrorCode.InvalidCursor,
        `no event at position ${after} in the log; resume from an id this stream sent, or from 0`,
        {
          errors: [
            { pointer: '/after', field: 'after', in: 'querystring', message: 'not a position in the log' },
          ],
        },
        { cause: error },
      );
    }
    throw error;
  }
}

/** Resolves on the next append notification, after `pollMs`, or when the client goes away. */
function waitForAppend(
  appends: AppendNotifications | undefined,
  sse: SseWriter,
  pollMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      sse.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, pollMs);
    const unsubscribe = appends?.subscribe(done) ?? (() => {});
    sse.on('close', done);
  });
}
