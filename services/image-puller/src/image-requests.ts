import type { EventStore } from '@lxr/event-store';
import {
  type EventData,
  type ImagePruneResult,
  type ImageRemoveResult,
  type ImageSummary,
  imageNodeStream,
  isRecord,
} from '@lxr/events';
import { type Digest, type ImageListing, type ImageStore, OciError, OciErrorCode } from '@lxr/oci';
import type { ContainerUsage } from './container-usage.js';

interface Deps {
  readonly images: ImageStore;
  readonly usage: ContainerUsage;
  readonly store: EventStore;
  readonly node: string;
}

function summary(image: ImageListing, inUse: Map<Digest, number>): ImageSummary {
  const p = image.platform;
  return {
    id: image.digest,
    references: [...image.references],
    configDigest: image.config.digest,
    ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
    platform: `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`,
    size: image.size,
    layers: image.layers.length,
    ...(image.created ? { created: image.created } : {}),
    pulledAt: image.pulledAt,
    containers: inUse.get(image.digest) ?? 0,
  };
}

/**
 * The node's answers to `lxr images`, `lxr rmi` and `lxr image prune` (request/reply on
 * `lxr.images.<node>.<verb>`). Removals are recorded as `ImageRemoved` in `image-node-<node>`.
 */
export function createImageRequests(deps: Deps) {
  const recordRemoved = async (digest: Digest, references: readonly string[]) => {
    const data: EventData<'ImageRemoved'> = { node: deps.node, digest, references: [...references] };
    await deps.store.append(imageNodeStream(deps.node), 'any', [
      { type: 'ImageRemoved', data, correlationId: digest },
    ]);
  };

  async function find(target: string): Promise<{ digest: Digest; reference?: string }> {
    const found = await deps.images.resolve(target);
    if (!found) {
      throw new OciError(
        OciErrorCode.ImageNotFound,
        `no image "${target}" on node ${deps.node} (lxr images lists them)`,
      );
    }
    return { digest: found.image.digest, ...(found.reference ? { reference: found.reference } : {}) };
  }

  return {
    async list(): Promise<ImageSummary[]> {
      const inUse = await deps.usage.counts();
      return (await deps.images.list()).map((i) => summary(i, inUse));
    },

    /**
     * Removes a reference; when it was the image's last one (or the image was named by id), the image
     * and the blobs only it used. Refuses an image a container uses unless `force`.
     */
    async remove(payload: unknown): Promise<ImageRemoveResult> {
      if (!isRecord(payload) || typeof payload['image'] !== 'string' || payload['image'] === '') {
        throw new OciError(OciErrorCode.InvalidReference, 'remove needs {"image": "<reference or id>"}');
      }
      const force = payload['force'] === true;
      const { digest, reference } = await find(payload['image']);
      const untagged: string[] = [];
      // Only the references are needed here, not every image record `list` would read.
      const references = (await deps.images.references()).filter((r) => r.digest === digest);
      if (reference && references.length > 1) {
        await deps.images.untag(reference);
        return { untagged: [reference], deleted: [], blobsRemoved: 0, bytesFreed: 0 };
      }
      const users = await deps.usage.users(digest);
      if (users.length > 0 && !force) {
        throw new OciError(
          OciErrorCode.ImageInUse,
          `image ${payload['image']} is used by container ${users[0]!.slice(0, 12)}${users.length > 1 ? ` and ${users.length - 1} more` : ''}: remove the container first, or use --force`,
        );
      }
      untagged.push(...(await deps.images.removeImage(digest)));
      const gc = await deps.images.gc(await deps.usage.inUse());
      await recordRemoved(digest, untagged);
      return { untagged, deleted: [digest], blobsRemoved: gc.blobsRemoved, bytesFreed: gc.bytesFreed };
    },

    /** Garbage collection: images without references and unused by containers, then unused blobs. */
    async prune(): Promise<ImagePruneResult> {
      const result = await deps.images.gc(await deps.usage.inUse());
      for (const digest of result.imagesRemoved) await recordRemoved(digest, []);
      return { ...result, imagesRemoved: [...result.imagesRemoved] };
    },
  };
}
