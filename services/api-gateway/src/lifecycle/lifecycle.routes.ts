import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket, { type WebSocket } from '@fastify/websocket';
import type { EventStore } from '@lxr/event-store';
import {
  type ContainerStats,
  containerStream,
  executorStreamSubject,
  type NewEvent,
  SessionFrame,
  SignalName,
} from '@lxr/events';
import { Type } from '@sinclair/typebox';
import { ErrorCode, GatewayError } from '../errors.js';
import { commonProblems, problemResponses } from '../http/responses.js';
import { ContainerRef, RemovedContainer } from '../http/schemas.js';
import { type ContainersReadModel, resolveContainer } from '../read-model/containers.read-model.js';
import type { ExecutorLink } from './executor-link.js';

export interface LifecycleRoutesOptions {
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
  /** How to reach the executors; without one, logs, stats and exec answer 503. */
  readonly executors?: ExecutorLink | undefined;
}

const TimeoutQuery = Type.Object({
  t: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 10,
      description: 'Seconds before SIGKILL (docker stop -t)',
    }),
  ),
});

const LogsQuery = Type.Object({
  follow: Type.Optional(Type.Boolean({ description: 'Keep streaming until the container exits' })),
  tail: Type.Optional(Type.Integer({ minimum: 0, description: 'Only the last N lines' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Only lines from this time on' })),
});

const ExecQuery = Type.Object({
  cmd: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
    description: 'The command and its arguments, one `cmd` parameter each',
  }),
  tty: Type.Optional(Type.Boolean()),
  interactive: Type.Optional(Type.Boolean({ description: 'Keep stdin open (-i)' })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  workdir: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096 })),
  env: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});

const Stats = Type.Object({
  containerId: Type.String(),
  pid: Type.Integer(),
  memoryBytes: Type.Number(),
  memoryLimitBytes: Type.Union([Type.Number(), Type.Null()]),
  cpuNanoseconds: Type.Number(),
  pids: Type.Integer(),
  pidsLimit: Type.Union([Type.Integer(), Type.Null()]),
  readAt: Type.String({ format: 'date-time' }),
});

const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
const sessionId = () => randomBytes(12).toString('hex');

/**
 * A container's life after its creation: start, stop, restart and kill recorded as intents for its
 * node's executor; logs, stats and exec (a WebSocket) served by that executor over NATS.
 */
export const lifecycleRoutes: FastifyPluginAsyncTypebox<LifecycleRoutesOptions> = async (
  app,
  { store, readModel, executors },
) => {
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });

  const link = (): ExecutorLink => {
    if (executors) return executors;
    throw new GatewayError(ErrorCode.NodeUnreachable, 'this gateway has no connection to the node agents');
  };

  const record = async (containerId: string, requestId: string, event: Omit<NewEvent, 'correlationId'>) => {
    await store.append(containerStream(containerId), 'exists', [
      { ...event, correlationId: containerId, causationId: requestId },
    ]);
  };

  const intent = (
    verb: 'start' | 'stop' | 'restart',
    summary: string,
    event: (containerId: string, timeoutSeconds: number) => Omit<NewEvent, 'correlationId'>,
  ) =>
    app.post(
      `/containers/:ref/${verb}`,
      {
        schema: {
          operationId: `${verb}Container`,
          summary,
          description: `Records the intent; the executor on the container's node acts on it.`,
          tags: ['containers'],
          params: ContainerRef,
          querystring: TimeoutQuery,
          response: { 202: RemovedContainer, ...problemResponses(...commonProblems, 404, 409) },
        },
      },
      async (request, reply) => {
        const container = await resolveContainer(readModel, request.params.ref);
        await record(container.id, String(request.id), event(container.id, request.query.t ?? 10));
        return reply.status(202).send({ id: container.id, name: container.name });
      },
    );

  intent('start', 'Start a stopped container (docker start)', (containerId) => ({
    type: 'ContainerStartRequested',
    data: { containerId },
  }));
  intent(
    'stop',
    'Stop a container: SIGTERM, then SIGKILL after t seconds (docker stop)',
    (containerId, t) => ({
      type: 'ContainerStopRequested',
      data: { containerId, timeoutSeconds: t },
    }),
  );
  intent('restart', 'Stop, then start a container (docker restart)', (containerId, t) => ({
    type: 'ContainerRestartRequested',
    data: { containerId, timeoutSeconds: t },
  }));

  app.post(
    '/containers/:ref/kill',
    {
      schema: {
        operationId: 'killContainer',
        summary: 'Send a signal to the main process (docker kill)',
        tags: ['containers'],
        params: ContainerRef,
        querystring: Type.Object({ signal: Type.Optional(SignalName) }),
        response: { 202: RemovedContainer, ...problemResponses(...commonProblems, 404, 409) },
      },
    },
    async (request, reply) => {
      const container = await resolveContainer(readModel, request.params.ref);
      if (container.state !== 'running') {
        throw new GatewayError(ErrorCode.ContainerNotRunning, `container ${container.name} is not running`);
      }
      await record(container.id, String(request.id), {
        type: 'ContainerKillRequested',
        data: { containerId: container.id, signal: request.query.signal ?? 'SIGKILL' },
      });
      return reply.status(202).send({ id: container.id, name: container.name });
    },
  );

  app.get(
    '/containers/:ref/stats',
    {
      schema: {
        operationId: 'containerStats',
        summary: "A running container's resource use (docker stats --no-stream)",
        tags: ['containers'],
        params: ContainerRef,
        response: { 200: Stats, ...problemResponses(...commonProblems, 404, 409, 503) },
      },
    },
    async (request) => {
      const container = await resolveContainer(readModel, request.params.ref);
      return link().request<ContainerStats>(container.node, 'stats', { containerId: container.id });
    },
  );

  app.get(
    '/containers/:ref/logs',
    {
      schema: {
        operationId: 'containerLogs',
        summary: "A container's output (docker logs)",
        description:
          'Streams `application/x-ndjson`: one object per line, `{"log","stream","time"}` as docker\'s json-file ' +
          'driver writes them. With `follow`, the stream ends when the container exits.',
        tags: ['containers'],
        params: ContainerRef,
        querystring: LogsQuery,
        response: {
          200: { description: 'NDJSON log lines', type: 'string' },
          ...problemResponses(...commonProblems, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const container = await resolveContainer(readModel, request.params.ref);
      const executorLink = link();
      const session = sessionId();
      const out = new PassThrough();
      const unsubscribe = executorLink.subscribe(
        executorStreamSubject(container.node, 'logs', session, 'out'),
        (data) => {
          if (data[0] === SessionFrame.Exit) {
            unsubscribe();
            out.end();
          } else {
            out.write(data.subarray(1));
          }
        },
      );
      request.raw.once('close', () => {
        if (out.writableEnded) return;
        unsubscribe();
        executorLink.publish(
          executorStreamSubject(container.node, 'logs', session, 'in'),
          new Uint8Array([0]),
        );
        out.end();
      });
      try {
        await executorLink.request(container.node, 'logs', {
          session,
          containerId: container.id,
          follow: request.query.follow ?? false,
          ...(request.query.tail === undefined ? {} : { tail: request.query.tail }),
          ...(request.query.since === undefined ? {} : { since: request.query.since }),
        });
      } catch (error) {
        unsubscribe();
        throw error;
      }
      return reply.type('application/x-ndjson').send(out);
    },
  );

  // Refusals (unknown container, not running) are plain HTTP problems, before the upgrade.
  const runningContainer = async (request: { params: unknown }) => {
    const { ref } = request.params as { ref: string };
    // A container seen running needs no catch-up (its round trips are most of an exec's latency);
    // one that stopped since is refused by its executor. Anything else is looked up after catching up.
    const seen = await readModel.lookup(ref);
    const container =
      seen.length === 1 && seen[0]!.state === 'running' ? seen[0]! : await resolveContainer(readModel, ref);
    if (container.state !== 'running') {
      throw new GatewayError(ErrorCode.ContainerNotRunning, `container ${container.name} is not running`);
    }
    link();
    (request as unknown as { container: typeof container }).container = container;
  };
  const containerOf = (request: unknown) =>
    (request as { container: { id: string; node: string } }).container;

  /**
   * Relays one session between the WebSocket and the executor's subjects: frames out as binary
   * messages until the exit frame, then a close; messages in as frames.
   */
  const relay = (
    socket: WebSocket,
    node: string,
    verb: 'exec' | 'attach',
    payload: Record<string, unknown>,
  ) => {
    const executorLink = link();
    const session = sessionId();
    const input = executorStreamSubject(node, verb, session, 'in');
    let ended = false;
    const end = (exit: Uint8Array) => {
      if (ended) return;
      ended = true;
      unsubscribe();
      socket.send(exit, { binary: true }, () => socket.close(1000, 'exited'));
    };
    const unsubscribe = executorLink.subscribe(executorStreamSubject(node, verb, session, 'out'), (data) => {
      if (data[0] === SessionFrame.Exit) end(data);
      else socket.send(data, { binary: true });
    });
    // The executor listens on the input subject once it answers the request: what the client sends
    // before that waits here (core NATS drops messages nobody listens to).
    let pending: Uint8Array[] | undefined = [];
    const send = (data: Uint8Array) => {
      if (pending) pending.push(data);
      else executorLink.publish(input, data);
    };
    socket.on('message', (data: Buffer) => {
      if (!ended && data.length > 0) send(data);
    });
    socket.on('close', () => {
      // An exec whose client went away loses its stdin (a shell then exits), as with docker; a
      // detached attach leaves the container as it is.
      if (!ended && verb === 'exec') send(new Uint8Array([SessionFrame.CloseStdin]));
      ended = true;
      unsubscribe();
    });
    executorLink.request(node, verb, { session, ...payload }).then(
      () => {
        for (const data of pending ?? []) executorLink.publish(input, data);
        pending = undefined;
      },
      (error: Error & { code?: string }) => {
        pending = undefined;
        const body = JSON.stringify({ error: error.message, code: error.code });
        end(Buffer.concat([Buffer.from([SessionFrame.Exit]), Buffer.from(body)]));
      },
    );
  };

  const FRAMES =
    'Binary messages, byte 0 the type: client → server 0 stdin, 1 resize (u16 rows, u16 cols, big-endian), ' +
    '2 close stdin, 4 signal (u8, exec only); server → client 1 stdout, 2 stderr (without a tty), 3 exit ' +
    '(JSON `{"exitCode","signal"}` or `{"error"}`), then the server closes.';

  app.get(
    '/containers/:ref/exec',
    {
      websocket: true,
      schema: {
        operationId: 'execContainer',
        summary: 'Run a command in a running container (docker exec), over a WebSocket',
        description: FRAMES,
        tags: ['containers'],
        params: ContainerRef,
        querystring: ExecQuery,
      },
      preValidation: runningContainer,
    },
    (socket, request) => {
      const container = containerOf(request);
      const query = request.query;
      relay(socket, container.node, 'exec', {
        containerId: container.id,
        args: list(query.cmd),
        tty: query.tty ?? false,
        interactive: query.interactive ?? false,
        ...(query.user ? { user: query.user } : {}),
        ...(query.workdir ? { workingDir: query.workdir } : {}),
        ...(query.env ? { env: list(query.env) } : {}),
        ...(query.rows ? { rows: query.rows } : {}),
        ...(query.cols ? { cols: query.cols } : {}),
      });
    },
  );

  app.get(
    '/containers/:ref/attach',
    {
      websocket: true,
      schema: {
        operationId: 'attachContainer',
        summary: "Attach to a running container's main process (docker attach), over a WebSocket",
        description: `${FRAMES} Output is sent from the moment of attaching; \`logs\` has what came before.`,
        tags: ['containers'],
        params: ContainerRef,
        querystring: Type.Object({
          rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        }),
      },
      preValidation: runningContainer,
    },
    (socket, request) => {
      const container = containerOf(request);
      const { rows, cols } = request.query;
      relay(socket, container.node, 'attach', {
        containerId: container.id,
        ...(rows ? { rows } : {}),
        ...(cols ? { cols } : {}),
      });
    },
  );
};
