import type { NetworkInspect, NodeNetwork } from '@lxr/client';
import type { EventStore } from '@lxr/event-store';
import { type EventData, NETWORK_POOL_STREAM, networkNodeStream, type RecordedEvent } from '@lxr/events';

/** The allocations a node's stream holds now: `IpAllocated` not followed by `IpReleased`. */
export function nodeNetworkOf(
  lease: EventData<'NodeSubnetLeased'>,
  events: readonly RecordedEvent[],
): NodeNetwork {
  const allocations = new Map<string, NodeNetwork['allocations'][number]>();
  for (const event of events) {
    if (event.type === 'IpAllocated') {
      const { containerId, name, ip, ports } = event.data as EventData<'IpAllocated'>;
      allocations.set(containerId, { containerId, name, ip, ports });
    } else if (event.type === 'IpReleased') {
      allocations.delete((event.data as EventData<'IpReleased'>).containerId);
    }
  }
  const byAddress = (a: { ip: string }) => a.ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return {
    node: lease.node,
    subnet: lease.subnet,
    gateway: lease.gateway,
    allocations: [...allocations.values()].sort((a, b) => byAddress(a) - byAddress(b)),
  };
}

/**
 * The pool, each node's subnet and its allocations, read from the network-allocator's streams
 * (`network-pool`, `network-node-<node>`): the log is the IPAM, so there is nothing else to ask.
 */
export async function readNetworkInspect(store: EventStore): Promise<NetworkInspect> {
  const leases = (await store.readStream(NETWORK_POOL_STREAM))
    .filter((e) => e.type === 'NodeSubnetLeased')
    .map((e) => e.data as EventData<'NodeSubnetLeased'>);
  const nodes = await Promise.all(
    leases.map(async (lease) => nodeNetworkOf(lease, await store.readStream(networkNodeStream(lease.node)))),
  );
  return {
    pool: leases[0]?.pool ?? null,
    nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)),
  };
}
