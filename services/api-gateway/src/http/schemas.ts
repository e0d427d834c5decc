import { ContainerRequestedData, PortBinding, ResourceLimits } from '@lxr/events';
import { CloneType, type Static, Type } from '@sinclair/typebox';

// The request's fields reuse the event's schemas, so whatever the API accepts the event accepts.
const req = ContainerRequestedData.properties;

export const ProblemFieldError = Type.Object(
  {
    pointer: Type.String({
      description:
        'JSON pointer into the part named by `in`, e.g. `/resources/cpus`; empty for the whole part',
    }),
    field: Type.String({
      description: 'Dotted path of the field, e.g. `resources.cpus`; empty for the whole part',
    }),
    in: Type.Optional(
      Type.Union([
        Type.Literal('body'),
        Type.Literal('querystring'),
        Type.Literal('params'),
        Type.Literal('headers'),
      ]),
    ),
    message: Type.String(),
  },
  { additionalProperties: false },
);

export const Problem = Type.Object(
  {
    type: Type.String({ description: '`urn:lxr:problem:<code>`' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What failed, on which object, and what to do' }),
    instance: Type.String({ description: 'The request path' }),
    code: Type.String({ description: 'Stable error code (see errors.ts)' }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(ProblemFieldError)),
  },
  { description: 'RFC 9457 problem details, as application/problem+json' },
);
export type Problem = Static<typeof Problem>;

export const CreateContainerBody = Type.Object(
  {
    name: Type.Optional(
      CloneType(req.name, { description: 'Unique name; docker-style adjective_surname when absent' }),
    ),
    image: CloneType(req.image, {
      description: 'Image reference, docker grammar (golang = docker.io/library/golang:latest)',
    }),
    command: Type.Optional(
      CloneType(req.command, {
        description: "Replaces the image's Cmd (its Entrypoint stays), as docker does",
      }),
    ),
    entrypoint: Type.Optional(
      CloneType(req.entrypoint, { description: "Replaces the image's Entrypoint and drops its Cmd" }),
    ),
    env: Type.Optional(CloneType(req.env, { description: 'Environment as K=V strings' })),
    labels: Type.Optional(req.labels),
    ide: Type.Optional(Type.Boolean({ default: true, description: 'Launch code-server in the container' })),
    resources: Type.Optional(ResourceLimits),
    ports: Type.Optional(CloneType(req.ports, { description: 'Published ports, as `-p`' })),
    volumes: Type.Optional(CloneType(req.volumes, { description: 'Volumes and bind mounts, as `-v`' })),
    ip: Type.Optional(CloneType(req.ip, { description: 'Static address on the container network' })),
    user: Type.Optional(req.user),
    workingDir: Type.Optional(req.workingDir),
    hostname: Type.Optional(req.hostname),
    tty: Type.Optional(CloneType(req.tty, { description: 'Allocate a pseudo-terminal (`-t`)' })),
    openStdin: Type.Optional(CloneType(req.openStdin, { description: 'Keep stdin open (`-i`)' })),
    autoRemove: Type.Optional(CloneType(req.autoRemove, { description: 'Remove once it exits (`--rm`)' })),
    restartPolicy: Type.Optional(req.restartPolicy),
    node: Type.Optional(
      CloneType(req.node, { description: 'Node agent to run it on; any live one when absent' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateContainerBody = Static<typeof CreateContainerBody>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Container = Type.Object({
  id: Type.String({ description: '64 hex characters' }),
  name: Type.String(),
  image: Type.String(),
  node: Type.String(),
  state: Type.String({ description: 'requested, then the states later services report' }),
  command: Nullable(Type.Array(Type.String())),
  env: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  ide: Type.Boolean(),
  resources: ResourceLimits,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  pid: Nullable(Type.Integer()),
  exitCode: Nullable(Type.Integer({ description: 'The exit status once it exited' })),
  ports: Type.Array(PortBinding, {
    description: 'Published ports; host ports as resolved once the network is ready',
  }),
  ip: Nullable(Type.String()),
  netns: Nullable(Type.String()),
  position: Type.Integer({ description: 'Log position of the last event applied to this row' }),
});
export type Container = Static<typeof Container>;

const RecordedEventSchema = Type.Object({
  type: Type.String(),
  schemaVersion: Type.Integer(),
  data: Type.Unknown(),
  metadata: Type.Object(
    {
      eventId: Type.String(),
      stream: Type.String(),
      streamVersion: Type.Integer(),
      position: Type.Integer(),
      correlationId: Type.String(),
      causationId: Nullable(Type.String()),
      timestamp: Type.String({ format: 'date-time' }),
      traceparent: Type.Optional(Type.String()),
      tracestate: Type.Optional(Type.String()),
    },
    { additionalProperties: true },
  ),
});

export const ContainerDetails = Type.Object({
  ...Container.properties,
  events: Type.Array(RecordedEventSchema),
});

export const RemovedContainer = Type.Object({ id: Type.String(), name: Type.String() });

export const ContainerRef = Type.Object({
  ref: Type.String({ minLength: 1, maxLength: 128, description: 'Container id, name or unique id prefix' }),
});

export const ListContainersQuery = Type.Object(
  {
    all: Type.Optional(Type.Boolean({ description: 'Include exited and failed containers (docker ps -a)' })),
    name: Type.Optional(Type.String({ description: 'Only containers whose name contains this' })),
    image: Type.Optional(Type.String()),
    node: Type.Optional(Type.String()),
    state: Type.Optional(Type.String()),
    label: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], {
        description: '`key` or `key=value`; repeatable',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListContainersQuery = Static<typeof ListContainersQuery>;

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Start after this log position (0 = from the start)' }),
    ),
    container: Type.Optional(
      Type.String({ minLength: 1, description: 'Only events about this container (id, name or id prefix)' }),
    ),
    type: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], {
        description: 'Event types, comma-separated or repeated',
      }),
    ),
    follow: Type.Optional(
      Type.Boolean({ default: true, description: 'Keep the stream open for new events' }),
    ),
    live: Type.Optional(
      Type.Boolean({
        description:
          'Skip what is already recorded and send only new events (`lxr events` without --since). ' +
          'An `id:` line with the current position is sent first, so a reconnect misses nothing.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

export const Node = Type.Object({
  name: Type.String(),
  alive: Type.Boolean({ description: 'Its executor heartbeats' }),
  lastSeen: Nullable(Type.String({ format: 'date-time' })),
  services: Type.Array(
    Type.Object({
      name: Type.String(),
      alive: Type.Boolean(),
      lastSeen: Nullable(Type.String({ format: 'date-time' })),
    }),
  ),
});

export const Health = Type.Object({
  status: Type.String(),
  checks: Type.Optional(
    Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) })),
  ),
});
