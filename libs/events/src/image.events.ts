import { type Static, Type } from '@sinclair/typebox';
import { ContainerId, NodeName } from './fields.js';

const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$', description: 'sha256 content digest' });
/** A pull's id: the container's id when a container asked for it, else one the gateway chose. */
const PullId = Type.String({ pattern: '^[0-9a-zA-Z-]{8,64}$' });
/** The image reference normalised as docker does: `docker.io/library/busybox:latest`. */
const Reference = Type.String({ minLength: 1, maxLength: 1024 });
const StringList = Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 4096 });

export const ImagePlatform = Type.Object(
  {
    os: Type.String({ minLength: 1, maxLength: 32 }),
    architecture: Type.String({ minLength: 1, maxLength: 32 }),
    variant: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  },
  { additionalProperties: false },
);

/** What the executor needs from the image config (docker's `config` object). */
export const ImageRuntimeConfig = Type.Object(
  {
    entrypoint: Type.Optional(StringList),
    cmd: Type.Optional(StringList),
    env: Type.Optional(StringList),
    workingDir: Type.Optional(Type.String({ maxLength: 4096 })),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    exposedPorts: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 4096 })),
    volumes: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 4096 })),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 1024 }), Type.String({ maxLength: 65536 }))),
    stopSignal: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type ImageRuntimeConfig = Static<typeof ImageRuntimeConfig>;

export const ImageLayer = Type.Object(
  {
    digest: Digest,
    /** Digest of the uncompressed tar, verified against the image config. */
    diffId: Digest,
    size: Type.Integer({ minimum: 0 }),
    mediaType: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { additionalProperties: false },
);
export type ImageLayer = Static<typeof ImageLayer>;

/** Why a pull failed (`ImagePullFailed.reason`). */
export const ImagePullFailureReason = Type.Union([
  Type.Literal('invalid-reference'),
  Type.Literal('invalid-platform'),
  Type.Literal('not-found'),
  Type.Literal('unauthorized'),
  Type.Literal('too-large'),
  Type.Literal('digest-mismatch'),
  Type.Literal('unsupported'),
  Type.Literal('no-matching-platform'),
  Type.Literal('network'),
  Type.Literal('registry-error'),
  Type.Literal('invalid-image'),
  Type.Literal('aborted'),
  Type.Literal('store'),
]);
export type ImagePullFailureReason = Static<typeof ImagePullFailureReason>;

export const ImagePullRequestedData = Type.Object(
  {
    pullId: PullId,
    /** As the user gave it; the image-puller normalises it. */
    reference: Type.String({ minLength: 1, maxLength: 1024 }),
    node: NodeName,
    /** `os/arch[/variant]`; the node's own platform when absent. */
    platform: Type.Optional(Type.String({ minLength: 3, maxLength: 80 })),
  },
  { additionalProperties: false },
);

const PullSubject = {
  pullId: PullId,
  reference: Reference,
  node: NodeName,
  /** Present when a `ContainerRequested` caused the pull. */
  containerId: Type.Optional(ContainerId),
};

export const ImagePullProgressData = Type.Object(
  {
    ...PullSubject,
    layers: Type.Array(
      Type.Object(
        { digest: Digest, size: Type.Integer({ minimum: 0 }), done: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
      { maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);

export const ImagePullResolvedData = Type.Object(
  {
    ...PullSubject,
    /** The platform's image manifest digest. */
    digest: Digest,
    /** The layers about to be downloaded, bottom first, with the diffIDs the config lists. */
    layers: Type.Array(ImageLayer, { maxItems: 500 }),
  },
  { additionalProperties: false },
);

export const ImagePulledData = Type.Object(
  {
    ...PullSubject,
    /** The platform's image manifest digest: the image's identity. */
    digest: Digest,
    /** The index it was chosen from, if the reference named one. */
    indexDigest: Type.Optional(Digest),
    configDigest: Digest,
    platform: ImagePlatform,
    layers: Type.Array(ImageLayer, { maxItems: 500 }),
    config: ImageRuntimeConfig,
    /** Sum of the compressed layer sizes. */
    size: Type.Integer({ minimum: 0 }),
    /** True when the image was already on the node. */
    cached: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const ImagePullFailedData = Type.Object(
  {
    ...PullSubject,
    reason: ImagePullFailureReason,
    /** The lxr error code behind the reason, e.g. `OCI_DIGEST_MISMATCH`. */
    code: Type.String({ maxLength: 64 }),
    message: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);

export const ImageRemovedData = Type.Object(
  {
    node: NodeName,
    digest: Digest,
    /** The references that named it and were removed. */
    references: Type.Array(Reference, { maxItems: 4096 }),
  },
  { additionalProperties: false },
);

/** Someone asked a node to pull an image (`lxr pull`, `POST /v1/images/pull`). */
export type ImagePullRequested = { type: 'ImagePullRequested'; data: Static<typeof ImagePullRequestedData> };
/** Throttled progress of a pull, bytes per layer. */
export type ImagePullProgress = { type: 'ImagePullProgress'; data: Static<typeof ImagePullProgressData> };
/**
 * A container's pull knows its manifest and config and starts downloading the layers (only when
 * something must be downloaded): the rootfs-builder unpacks each layer as soon as it is stored.
 */
export type ImagePullResolved = { type: 'ImagePullResolved'; data: Static<typeof ImagePullResolvedData> };
/** The image is on the node, every blob verified; what the rootfs-builder and executor start from. */
export type ImagePulled = { type: 'ImagePulled'; data: Static<typeof ImagePulledData> };
/** The pull failed; `reason` says why, nothing unverified was kept. */
export type ImagePullFailed = { type: 'ImagePullFailed'; data: Static<typeof ImagePullFailedData> };
/** An image was removed from a node (`lxr rmi`). */
export type ImageRemoved = { type: 'ImageRemoved'; data: Static<typeof ImageRemovedData> };

export type ImageEvent =
  | ImagePullRequested
  | ImagePullProgress
  | ImagePullResolved
  | ImagePulled
  | ImagePullFailed
  | ImageRemoved;

export const imageEventSchemas = {
  ImagePullRequested: { version: 1, schema: ImagePullRequestedData, context: 'image' },
  ImagePullProgress: { version: 1, schema: ImagePullProgressData, context: 'image' },
  ImagePullResolved: { version: 1, schema: ImagePullResolvedData, context: 'image' },
  ImagePulled: { version: 1, schema: ImagePulledData, context: 'image' },
  ImagePullFailed: { version: 1, schema: ImagePullFailedData, context: 'image' },
  ImageRemoved: { version: 1, schema: ImageRemovedData, context: 'image' },
} as const;

/** Where the gateway records an explicit pull request (its one writer). */
export const imagePullRequestStream = (pullId: string): string => `image-request-${pullId}`;
/** Where a node's image-puller records one pull's progress and outcome (its one writer). */
export const imagePullStream = (pullId: string): string => `image-pull-${pullId}`;
/** Where a node's image-puller records removals on that node. */
export const imageNodeStream = (node: string): string => `image-node-${node}`;

/** An image on a node, as `lxr images` and `GET /v1/images` show it (the `list` reply). */
export const ImageSummary = Type.Object({
  /** The image manifest's digest. */
  id: Digest,
  /** Normalised references naming it; empty for a dangling image. */
  references: Type.Array(Reference),
  configDigest: Digest,
  indexDigest: Type.Optional(Digest),
  /** `os/arch[/variant]`. */
  platform: Type.String(),
  /** Compressed size of its layers in bytes. */
  size: Type.Integer({ minimum: 0 }),
  layers: Type.Integer({ minimum: 0 }),
  created: Type.Optional(Type.String()),
  pulledAt: Type.String(),
  /** Containers on the node using it. */
  containers: Type.Integer({ minimum: 0 }),
});
export type ImageSummary = Static<typeof ImageSummary>;

/** The `remove` reply: references removed, images deleted and what garbage collection freed. */
export const ImageRemoveResult = Type.Object({
  untagged: Type.Array(Reference),
  deleted: Type.Array(Digest),
  blobsRemoved: Type.Integer({ minimum: 0 }),
  bytesFreed: Type.Integer({ minimum: 0 }),
});
export type ImageRemoveResult = Static<typeof ImageRemoveResult>;

/** The `prune` reply: dangling images removed and the blobs no image uses any more. */
export const ImagePruneResult = Type.Object({
  imagesRemoved: Type.Array(Digest),
  blobsRemoved: Type.Integer({ minimum: 0 }),
  bytesFreed: Type.Integer({ minimum: 0 }),
});
export type ImagePruneResult = Static<typeof ImagePruneResult>;

/** What a node's image-puller answers on request/reply. */
export type ImageRequestVerb = 'list' | 'remove' | 'prune';
/** The request/reply subject of one node's image-puller: `lxr.images.<node>.<verb>`. */
export const imageRequestSubject = (node: string, verb: ImageRequestVerb): string =>
  `lxr.images.${node}.${verb}`;
