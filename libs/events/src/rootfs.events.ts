import { type Static, Type } from '@sinclair/typebox';
import { AbsolutePath, ContainerId, NodeName } from './fields.js';
import { VolumePruneResult, VolumeSummary } from './volume.events.js';

// What the rootfs-builder (issue 4) tells the executor: the container's root filesystem is ready
// (stream `rootfs-<id>`). The executor writes these into the OCI bundle as given; what to run
// comes from the image's config in `ImagePulled`.

/** One extra mount (a volume, a bind mount), in the OCI runtime spec's shape. */
export const RootfsMount = Type.Object(
  {
    destination: AbsolutePath,
    source: Type.String({ minLength: 1, maxLength: 4096 }),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    options: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);
export type RootfsMount = Static<typeof RootfsMount>;

export const RootfsPreparedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** The mounted (overlay) root filesystem: the bundle's `root.path`. */
    rootfsPath: AbsolutePath,
    mounts: Type.Array(RootfsMount, { maxItems: 256 }),
  },
  { additionalProperties: false },
);

export const RootfsFailedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** A `ROOTFS_*` code of docs/ERRORS.md. */
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{2,63}$' }),
    message: Type.String({ maxLength: 8192 }),
  },
  { additionalProperties: false },
);

/** The root filesystem is mounted at `rootfsPath`; the executor may start the container. */
export type RootfsPrepared = { type: 'RootfsPrepared'; data: Static<typeof RootfsPreparedData> };
/** The root filesystem could not be made. */
export type RootfsFailed = { type: 'RootfsFailed'; data: Static<typeof RootfsFailedData> };

export type RootfsEvent = RootfsPrepared | RootfsFailed;

export const rootfsEventSchemas = {
  RootfsPrepared: { version: 1, schema: RootfsPreparedData, context: 'rootfs' },
  RootfsFailed: { version: 1, schema: RootfsFailedData, context: 'rootfs' },
} as const;

/** One container's root filesystem: `RootfsPrepared` or `RootfsFailed`. */
export const rootfsStream = (containerId: string): string => `rootfs-${containerId}`;

/** A cached layer on a node, as `lxr system df` counts it (the `df` reply). */
export const RootfsLayerUsage = Type.Object({
  diffId: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
  /** Bytes of its unpacked files. */
  size: Type.Integer({ minimum: 0 }),
  /** Containers whose overlay stacks it. */
  containers: Type.Integer({ minimum: 0 }),
  /** Images on the node that list it. */
  images: Type.Integer({ minimum: 0 }),
});
export type RootfsLayerUsage = Static<typeof RootfsLayerUsage>;

/** What a node's rootfs-builder answers to `df`: its layer cache, each container's own writes, its volumes. */
export const RootfsDiskUsage = Type.Object({
  layers: Type.Array(RootfsLayerUsage),
  /** Bytes each container wrote (its overlay's upper directory). */
  containers: Type.Array(Type.Object({ containerId: ContainerId, size: Type.Integer({ minimum: 0 }) })),
  /** Every volume with `size` set. */
  volumes: Type.Array(VolumeSummary),
});
export type RootfsDiskUsage = Static<typeof RootfsDiskUsage>;

/**
 * The `prune` reply (payload `{"volumes"?: boolean, "all"?: boolean}`): cached layers no image and no
 * container uses any more, removed; with `volumes`, the unused volumes too (`all`: named ones as well).
 */
export const RootfsPruneResult = Type.Object({
  layersRemoved: Type.Integer({ minimum: 0 }),
  bytesFreed: Type.Integer({ minimum: 0 }),
  volumes: Type.Optional(VolumePruneResult),
});
export type RootfsPruneResult = Static<typeof RootfsPruneResult>;

/** What a node's rootfs-builder answers on request/reply. */
export type RootfsRequestVerb = 'df' | 'prune';
/** The request/reply subject of one node's rootfs-builder: `lxr.rootfs.<node>.<verb>`. */
export const rootfsRequestSubject = (node: string, verb: RootfsRequestVerb): string =>
  `lxr.rootfs.${node}.${verb}`;

/** One row of `lxr system df` (docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE), summed over the nodes. */
export const DiskUsageRow = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  /** In use by a container. */
  active: Type.Integer({ minimum: 0 }),
  /** Bytes. */
  size: Type.Integer({ minimum: 0 }),
  /** Bytes `lxr system prune -a` (with `--volumes` for volumes) would free. */
  reclaimable: Type.Integer({ minimum: 0 }),
});
export type DiskUsageRow = Static<typeof DiskUsageRow>;

/** `GET /v1/system/df`: what lxr keeps on the nodes' disks. */
export const SystemDiskUsage = Type.Object({
  images: DiskUsageRow,
  containers: DiskUsageRow,
  volumes: DiskUsageRow,
  layers: DiskUsageRow,
});
export type SystemDiskUsage = Static<typeof SystemDiskUsage>;

/** `POST /v1/system/prune`: what went, and the bytes freed. */
export const SystemPruneResult = Type.Object({
  containersDeleted: Type.Array(ContainerId),
  imagesDeleted: Type.Array(Type.String()),
  layersDeleted: Type.Integer({ minimum: 0 }),
  volumesDeleted: Type.Array(Type.String()),
  spaceReclaimed: Type.Integer({ minimum: 0 }),
});
export type SystemPruneResult = Static<typeof SystemPruneResult>;
