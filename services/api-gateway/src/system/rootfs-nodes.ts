import {
  type RootfsDiskUsage,
  type RootfsPruneResult,
  type RootfsRequestVerb,
  rootfsRequestSubject,
} from '@lxr/events';
import type { Requester } from '../nodes/node-requests.js';

/**
 * The gateway's way to the node agents' rootfs-builders for disk questions (request/reply on
 * `lxr.rootfs.<node>.<verb>`). `main.ts` builds it over the bus; tests give their own.
 */
export interface RootfsNodes {
  df(node: string): Promise<RootfsDiskUsage>;
  prune(
    node: string,
    options: { readonly volumes: boolean; readonly all: boolean },
  ): Promise<RootfsPruneResult>;
}

/** {@link RootfsNodes} over the bus; sizes and removals walk directories, hence the long timeout. */
export function busRootfsNodes(bus: Requester, timeoutMs = 120_000): RootfsNodes {
  const ask = <T>(node: string, verb: RootfsRequestVerb, payload: unknown) =>
    bus.request<T>(rootfsRequestSubject(node, verb), payload, timeoutMs);
  return {
    df: (node) => ask(node, 'df', {}),
    prune: (node, options) => ask(node, 'prune', options),
  };
}
