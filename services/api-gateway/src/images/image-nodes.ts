import {
  type ImagePruneResult,
  type ImageRemoveResult,
  type ImageRequestVerb,
  type ImageSummary,
  imageRequestSubject,
} from '@lxr/events';
import type { Requester } from '../nodes/node-requests.js';

/**
 * The gateway's way to the node agents' image-pullers (request/reply on `lxr.images.<node>.<verb>`).
 * `main.ts` builds it over the bus; tests give their own.
 */
export interface ImageNodes {
  list(node: string): Promise<ImageSummary[]>;
  remove(node: string, image: string, force: boolean): Promise<ImageRemoveResult>;
  prune(node: string): Promise<ImagePruneResult>;
}

/** {@link ImageNodes} over the bus, with a timeout per request (garbage collection can take a while). */
export function busImageNodes(bus: Requester, timeoutMs = 30_000): ImageNodes {
  const ask = <T>(node: string, verb: ImageRequestVerb, payload: unknown) =>
    bus.request<T>(imageRequestSubject(node, verb), payload, timeoutMs);
  return {
    list: (node) => ask(node, 'list', {}),
    remove: (node, image, force) => ask(node, 'remove', { image, force }),
    prune: (node) => ask(node, 'prune', {}),
  };
}
