import {
  type VolumePruneResult,
  type VolumeRequestVerb,
  type VolumeSummary,
  volumeRequestSubject,
} from '@lxr/events';
import type { Requester } from '../nodes/node-requests.js';

/**
 * The gateway's way to the node agents' volumes, which their rootfs-builders keep (request/reply on
 * `lxr.volumes.<node>.<verb>`). `main.ts` builds it over the bus; tests give their own.
 */
export interface VolumeNodes {
  create(
    node: string,
    request: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> },
  ): Promise<VolumeSummary>;
  list(node: string): Promise<VolumeSummary[]>;
  inspect(node: string, name: string): Promise<VolumeSummary>;
  remove(node: string, name: string, force: boolean): Promise<VolumePruneResult>;
  prune(node: string, all: boolean): Promise<VolumePruneResult>;
}

/** {@link VolumeNodes} over the bus, with a timeout per request (sizes and removals walk the data). */
export function busVolumeNodes(bus: Requester, timeoutMs = 60_000): VolumeNodes {
  const ask = <T>(node: string, verb: VolumeRequestVerb, payload: unknown) =>
    bus.request<T>(volumeRequestSubject(node, verb), payload, timeoutMs);
  return {
    create: (node, request) => ask(node, 'create', request),
    list: (node) => ask(node, 'list', {}),
    inspect: (node, name) => ask(node, 'inspect', { name }),
    remove: (node, name, force) => ask(node, 'remove', { name, force }),
    prune: (node, all) => ask(node, 'prune', { all }),
  };
}
