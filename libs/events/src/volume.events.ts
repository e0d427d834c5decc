import { type Static, Type } from '@sinclair/typebox';
import { VOLUME_NAME_PATTERN } from './container.events.js';
import { AbsolutePath, ContainerId, NodeName } from './fields.js';

// Named volumes of a node (`-v name:/path`, `lxr volume create`), recorded by the node's
// rootfs-builder in one stream per node, `volume-node-<node>`, appended with the expected version so
// two containers creating the same name at once make one volume. Which containers use a volume is
// the node's own bookkeeping, not an event: it follows from `ContainerRequested` and `ContainerRemoved`.

/** A volume name: docker's grammar (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128 characters). */
export const VolumeName = Type.String({ pattern: VOLUME_NAME_PATTERN, description: "docker's volume name" });
const Labels = Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.String({ maxLength: 65536 }));

export const VolumeCreatedData = Type.Object(
  {
    node: NodeName,
    name: VolumeName,
    /** The directory containers see: `$LXR_HOME/volumes/<name>/_data`. */
    mountpoint: AbsolutePath,
    /** Made for a `-v /path` without a name (64 hex characters); goes with an `--rm` container. */
    anonymous: Type.Boolean(),
    labels: Labels,
    /** The container whose `-v` created it; absent for `lxr volume create`. */
    containerId: Type.Optional(ContainerId),
  },
  { additionalProperties: false },
);

export const VolumeRemovedData = Type.Object(
  {
    node: NodeName,
    name: VolumeName,
    /** Bytes its data took when it was removed. */
    reclaimedBytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** A volume was made on a node (by `lxr volume create` or a container's first use of the name). */
export type VolumeCreated = { type: 'VolumeCreated'; data: Static<typeof VolumeCreatedData> };
/** A volume and its data were deleted (`lxr volume rm`, prune, or its `--rm` container's removal). */
export type VolumeRemoved = { type: 'VolumeRemoved'; data: Static<typeof VolumeRemovedData> };

export type VolumeEvent = VolumeCreated | VolumeRemoved;

export const volumeEventSchemas = {
  VolumeCreated: { version: 1, schema: VolumeCreatedData, context: 'volume' },
  VolumeRemoved: { version: 1, schema: VolumeRemovedData, context: 'volume' },
} as const;

/** Where a node's rootfs-builder records its volumes (its one writer). */
export const volumeNodeStream = (node: string): string => `volume-node-${node}`;

/** A volume on a node, as `lxr volume ls` / `inspect` and `GET /v1/volumes` show it. */
export const VolumeSummary = Type.Object({
  name: VolumeName,
  /** Always `local`: a directory on the node. */
  driver: Type.Literal('local'),
  mountpoint: AbsolutePath,
  /** When `VolumeCreated` was recorded (RFC 3339). */
  createdAt: Type.String(),
  labels: Labels,
  anonymous: Type.Boolean(),
  /** Ids of the containers on the node that use it. */
  containers: Type.Array(ContainerId),
  /** Bytes of its data; only where asked for (`inspect`, `system df`), since it walks the tree. */
  size: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type VolumeSummary = Static<typeof VolumeSummary>;

/** The `prune` (and `remove`) reply: the volumes deleted and the bytes their data took. */
export const VolumePruneResult = Type.Object({
  removed: Type.Array(VolumeName),
  reclaimedBytes: Type.Integer({ minimum: 0 }),
});
export type VolumePruneResult = Static<typeof VolumePruneResult>;

/** What a node's rootfs-builder answers about volumes on request/reply. */
export type VolumeRequestVerb = 'create' | 'list' | 'inspect' | 'remove' | 'prune';
/** The request/reply subject of one node's volumes: `lxr.volumes.<node>.<verb>`. */
export const volumeRequestSubject = (node: string, verb: VolumeRequestVerb): string =>
  `lxr.volumes.${node}.${verb}`;
