import { type Static, Type } from '@sinclair/typebox';
import { ContainerId, Ipv4Address, NodeName } from './fields.js';

export { Ipv4Address };

/** Docker's container-name grammar: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const CONTAINER_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$';
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

/** A published port, as `-p [hostIp:][hostPort:]containerPort[/protocol]`. */
export const PortBinding = Type.Object(
  {
    /** Host address to listen on; every address of the host when absent. */
    hostIp: Type.Optional(Ipv4Address),
    /** 0 asks for any free port. */
    hostPort: Type.Integer({ minimum: 0, maximum: 65535 }),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  },
  { additionalProperties: false },
);
export type PortBinding = Static<typeof PortBinding>;

/** docker's restart policies: `no`, `on-failure[:N]`, `always`, `unless-stopped`. */
export const RestartPolicy = Type.Object(
  {
    name: Type.Union([
      Type.Literal('no'),
      Type.Literal('on-failure'),
      Type.Literal('always'),
      Type.Literal('unless-stopped'),
    ]),
    /** `on-failure` only: give up after this many restarts; unlimited when absent. */
    maximumRetryCount: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type RestartPolicy = Static<typeof RestartPolicy>;

/** docker's volume-name grammar. */
export const VOLUME_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$';

/**
 * A volume as `-v`: a named volume (`name:/path`, created on first use, outlives the container), a
 * host directory (`/host:/path`), or an anonymous volume (`/path`, removed with an `--rm` container).
 */
export const VolumeMount = Type.Object(
  {
    /** A volume name (docker's grammar) or an absolute host path; absent for an anonymous volume. */
    source: Type.Optional(
      Type.String({ pattern: '^(/.*|[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127})$', maxLength: 4096 }),
    ),
    /** Where it appears inside the container. */
    destination: Type.String({ pattern: '^/', maxLength: 4096 }),
    /** `:ro`. */
    readOnly: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VolumeMount = Static<typeof VolumeMount>;

export const ContainerRequestedData = Type.Object(
  {
    containerId: ContainerId,
    name: ContainerName,
    /** The image reference as the user gave it; the image-puller normalises it. */
    image: Type.String({ minLength: 1, maxLength: 512 }),
    /** The node agent chosen to run it. */
    node: NodeName,
    /** Replaces the image's Cmd (its Entrypoint stays), as `docker run IMAGE COMMAND…`. */
    command: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 4096 })),
    /** Replaces the image's Entrypoint (and drops its Cmd), as `--entrypoint`. */
    entrypoint: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 4096 })),
    env: Type.Array(Type.String({ pattern: '^[^=]+=', maxLength: 65536 }), { maxItems: 4096 }),
    labels: Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 4096 })),
    /** Launch code-server in the container (the default for `lxr create`). */
    ide: Type.Boolean(),
    resources: ResourceLimits,
    /** Published ports (`-p`). */
    ports: Type.Optional(Type.Array(PortBinding, { maxItems: 1024 })),
    /** Volumes and bind mounts (`-v`), prepared by the rootfs-builder. */
    volumes: Type.Optional(Type.Array(VolumeMount, { maxItems: 256 })),
    /** A static address on the node's container network (`--ip`); allocated when absent. */
    ip: Type.Optional(Ipv4Address),
    /** `--user`: `name`, `uid`, `name:group` or `uid:gid` as the image resolves them. */
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** `--workdir`: an absolute path inside the container. */
    workingDir: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096 })),
    /** `--hostname`; the container's name when absent. */
    hostname: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$', maxLength: 63 })),
    /** `-t`: a pseudo-terminal for the main process. */
    tty: Type.Optional(Type.Boolean()),
    /** `-i`: keep the main process's stdin open for attaching. */
    openStdin: Type.Optional(Type.Boolean()),
    /** `--rm`: remove the container once it exits. */
    autoRemove: Type.Optional(Type.Boolean()),
    /** `--restart`; `no` when absent. */
    restartPolicy: Type.Optional(RestartPolicy),
    /**
     * SHA-256 (hex) of the normalised request, present when the request carried an
     * `Idempotency-Key`: a retry with the same key must carry the same request to be a replay.
     */
    requestDigest: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);

export const ContainerRemovedData = Type.Object(
  {
    containerId: ContainerId,
    name: ContainerName,
    /** `docker rm -v` (and `run --rm`): the container's anonymous volumes go with it. */
    volumes: Type.Optional(Type.Boolean()),
  },
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
