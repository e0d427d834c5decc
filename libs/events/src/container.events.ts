import { type Static, Type } from '@sinclair/typebox';

/** Docker's container-name grammar: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const CONTAINER_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$';
const ContainerId = Type.String({ pattern: '^[0-9a-f]{64}$', description: '64 hex characters' });
const ContainerName = Type.String({ pattern: CONTAINER_NAME_PATTERN, maxLength: 128 });

export const ResourceLimits = Type.Object(
  {
    memoryBytes: Type.Optional(Type.Integer({ minimum: 6 * 1024 * 1024, description: '--memory' })),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: '--cpus' })),
    pidsLimit: Type.Optional(Type.Integer({ minimum: 1, description: '--pids-limit' })),
  },
  { additionalProperties: false },
);
export type ResourceLimits = Static<typeof ResourceLimits>;

export const ContainerRequestedData = Type.Object(
  {
    containerId: ContainerId,
    name: ContainerName,
    /** The image reference as the user gave it; the image-puller normalises it. */
    image: Type.String({ minLength: 1, maxLength: 512 }),
    /** The node agent chosen to run it. */
    node: Type.String({ minLength: 1, maxLength: 253 }),
    /** Overrides the image's entrypoint+cmd when set. */
    command: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 4096 })),
    env: Type.Array(Type.String({ pattern: '^[^=]+=', maxLength: 65536 }), { maxItems: 4096 }),
    labels: Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 4096 })),
    /** Launch code-server in the container (the default for `lxr create`). */
    ide: Type.Boolean(),
    resources: ResourceLimits,
    /**
     * SHA-256 (hex) of the normalised request, present when the request carried an
     * `Idempotency-Key`: a retry with the same key must carry the same request to be a replay.
     */
    requestDigest: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);

export const ContainerRemovedData = Type.Object(
  { containerId: ContainerId, name: ContainerName },
  { additionalProperties: false },
);

export const ContainerNameData = Type.Object(
  { containerId: ContainerId, name: ContainerName },
  { additionalProperties: false },
);

/** A container was asked for; everything else in its life follows from this event. */
export type ContainerRequested = { type: 'ContainerRequested'; data: Static<typeof ContainerRequestedData> };
/** The container is gone; compensations (IP, overlay dirs, IDE) follow. */
export type ContainerRemoved = { type: 'ContainerRemoved'; data: Static<typeof ContainerRemovedData> };
/** A name was taken by a container (stream `container-name-<name>`). */
export type ContainerNameReserved = { type: 'ContainerNameReserved'; data: Static<typeof ContainerNameData> };
/** A name became free again. */
export type ContainerNameReleased = { type: 'ContainerNameReleased'; data: Static<typeof ContainerNameData> };

export type ContainerEvent = ContainerRequested | ContainerRemoved;
export type ContainerNameEvent = ContainerNameReserved | ContainerNameReleased;

export const containerEventSchemas = {
  ContainerRequested: { version: 1, schema: ContainerRequestedData, context: 'container' },
  ContainerRemoved: { version: 1, schema: ContainerRemovedData, context: 'container' },
  ContainerNameReserved: { version: 1, schema: ContainerNameData, context: 'container' },
  ContainerNameReleased: { version: 1, schema: ContainerNameData, context: 'container' },
} as const;

/** The stream holding one container's life. */
export const containerStream = (containerId: string): string => `container-${containerId}`;
/** The stream that makes a container name unique: one reservation at a time. */
export const containerNameStream = (name: string): string => `container-name-${name}`;
