import { type Static, Type } from '@sinclair/typebox';
import { VOLUME_NAME_PATTERN, type VolumeMount } from './container.events.js';
import { AbsolutePath, ContainerId, NodeName } from './fields.js';

// Named volumes of a node (`-v name:/path`, `lxr volume create`), recorded by the node's
// rootfs-builder in one stream per node, `volume-node-<node>`, appended with the expected version so
// two containers creating the same name at once make one volume. Which containers use a volume is
// the node's own bookkeeping, not an event: it follows from `ContainerRequested` and `ContainerRemoved`.

/** A volume name: docker's grammar (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128 characters). */
export const VolumeName = Type.String({ pattern: VOLUME_NAME_PATTERN, description: "docker's volume name" });
const VOLUME_NAME = new RegExp(VOLUME_NAME_PATTERN);
/** True for a name of docker's volume grammar. */
export const isVolumeName = (name: string): boolean => VOLUME_NAME.test(name);
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

/**
 * Container paths a volume may not cover: the kernel filesystems the runtime mounts and masks, whose
 * masking (`/proc/kcore`, `/sys/firmware`) keeps the host's secrets out of the container.
 */
const RESERVED_DESTINATIONS = ['/proc', '/sys'];

/** `/a/b`, never `/a/./b`, `/a//b`, `/a/../b` or `/a/b/`. */
function isNormalisedAbsolute(p: string): boolean {
  if (p === '/') return true;
  return (
    p.startsWith('/') &&
    p
      .split('/')
      .slice(1)
      .every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** A `-v` as the user would have written it, for messages. */
export function volumeSpecText(volume: VolumeMount): string {
  return `${volume.source === undefined ? '' : `${volume.source}:`}${volume.destination}${volume.readOnly ? ':ro' : ''}`;
}

/**
 * What is wrong with a container's volumes, checked as docker checks `-v` at create (the gateway,
 * before recording) and again where they are prepared (the rootfs-builder): destinations absolute,
 * normalised, not `/`, not under `/proc` or `/sys` and each used once; host paths normalised and not
 * the host's `/` (lxr's containers run as root without a user namespace: the host's root bound in,
 * even read-only, hands over the host). The first problem, with the index of its volume.
 */
export function volumeMountProblem(
  volumes: readonly VolumeMount[],
): { readonly index: number; readonly message: string } | undefined {
  const seen = new Set<string>();
  for (const [index, { source, destination }] of volumes.entries()) {
    const problem = (why: string) => ({
      index,
      message: `invalid volume "-v ${volumeSpecText(volumes[index]!)}": ${why}`,
    });
    if (!isNormalisedAbsolute(destination))
      return problem(
        'the container path must be absolute and normalised (no ".", "..", "//" or trailing "/")',
      );
    if (destination === '/') return problem("a volume cannot replace the container's root");
    if (RESERVED_DESTINATIONS.some((r) => destination === r || destination.startsWith(`${r}/`)))
      return problem(`${destination} belongs to the kernel filesystems the runtime mounts`);
    if (seen.has(destination)) return problem(`another volume is already mounted at ${destination}`);
    seen.add(destination);
    if (source?.startsWith('/')) {
      if (!isNormalisedAbsolute(source))
        return problem('the host path must be normalised (no ".", "..", "//" or trailing "/")');
      if (source === '/') return problem("binding the host's root into a container hands it the host");
    } else if (source !== undefined && !isVolumeName(source)) {
      return problem(
        `"${source}" is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
      );
    }
  }
  return undefined;
}

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
