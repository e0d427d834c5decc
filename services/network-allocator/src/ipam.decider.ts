import {
  type EventData,
  type IpReleaseReason,
  NetworkErrorCode,
  type NetworkEvent,
  type PublishedPort,
} from '@lxr/events';
import {
  contains,
  formatCidr,
  formatIpv4,
  type Ipv4Network,
  networkSize,
  overlaps,
  parseCidr,
  parseIpv4,
  subnetAt,
} from './ipv4.js';

/**
 * IPAM as a pure decider over two kinds of stream: the cluster pool (`network-pool`, one
 * `NodeSubnetLeased` per node) and a node's addresses (`network-node-<node>`, `IpAllocated` /
 * `IpReleased`). Deciding does no I/O; what it needs from the world (host routes, which host ports
 * a process holds) comes in through the command. Correctness under concurrency is the event
 * log's: the caller appends what `decide*` returns with the version it read, and re-reads and
 * decides again when another writer got there first.
 */

// ── the pool ───────────────────────────────────────────────────────────────────────────────

export interface Lease {
  readonly node: string;
  readonly pool: string;
  readonly subnet: Ipv4Network;
  readonly gateway: number;
}

export interface PoolState {
  readonly leases: ReadonlyMap<string, Lease>;
}

export const emptyPool = (): PoolState => ({ leases: new Map() });

export function evolvePool(state: PoolState, event: NetworkEvent): PoolState {
  if (event.type !== 'NodeSubnetLeased') return state;
  const { node, pool, subnet, gateway } = event.data;
  const leases = new Map(state.leases);
  leases.set(node, { node, pool, subnet: parseCidr(subnet)!, gateway: parseIpv4(gateway)! });
  return { leases };
}

export interface LeaseCommand {
  readonly node: string;
  readonly pool: Ipv4Network;
  /** Prefix length of each node's subnet, e.g. 24. */
  readonly subnetPrefixLength: number;
}

export type LeaseDecision =
  | { readonly kind: 'leased'; readonly lease: Lease }
  | {
      readonly kind: 'lease';
      readonly event: { type: 'NodeSubnetLeased'; data: EventData<'NodeSubnetLeased'> };
    }
  | { readonly kind: 'failed'; readonly code: NetworkErrorCode; readonly message: string };

/** The node's existing lease, or the first subnet of the pool no node holds. */
export function decideLease(command: LeaseCommand, state: PoolState): LeaseDecision {
  const existing = state.leases.get(command.node);
  if (existing) return { kind: 'leased', lease: existing };
  const { pool, subnetPrefixLength: length } = command;
  if (length < pool.prefixLength || length > 30) {
    return {
      kind: 'failed',
      code: NetworkErrorCode.PoolInvalid,
      message: `a /${length} subnet does not fit the pool ${formatCidr(pool)}; use a prefix length in [${pool.prefixLength}, 30]`,
    };
  }
  const taken = [...state.leases.values()].map((l) => l.subnet);
  const count = 2 ** (length - pool.prefixLength);
  for (let i = 0; i < count; i++) {
    const subnet = subnetAt(pool, length, i);
    if (taken.some((t) => overlaps(t, subnet))) continue;
    return {
      kind: 'lease',
      event: {
        type: 'NodeSubnetLeased',
        data: {
          node: command.node,
          pool: formatCidr(pool),
          subnet: formatCidr(subnet),
          gateway: formatIpv4(subnet.base + 1),
        },
      },
    };
  }
  return {
    kind: 'failed',
    code: NetworkErrorCode.PoolExhausted,
    message: `every /${length} of the pool ${formatCidr(pool)} is leased (${taken.length} nodes); configure a larger LXR_NETWORK_POOL`,
  };
}

// ── a node's addresses ─────────────────────────────────────────────────────────────────────

export interface Allocation {
  readonly containerId: string;
  readonly name: string;
  readonly hostname: string | undefined;
  readonly ip: number;
  readonly netns: string;
  readonly hostVeth: string;
  readonly ports: readonly PublishedPort[];
}

export interface NodeState {
  readonly byContainer: ReadonlyMap<string, Allocation>;
  readonly byIp: ReadonlyMap<number, string>;
  /** The address handed out last: the next search starts after it, so a freed address rests a while. */
  readonly lastIp: number;
}

export const emptyNode = (): NodeState => ({ byContainer: new Map(), byIp: new Map(), lastIp: 0 });

/**
 * The node's addresses after `events` (its stream, or what a batch appended). Copies the maps
 * once per call, so replaying a long stream stays linear.
 */
export function foldNode(events: readonly NetworkEvent[], from: NodeState = emptyNode()): NodeState {
  const byContainer = new Map(from.byContainer);
  const byIp = new Map(from.byIp);
  let lastIp = from.lastIp;
  for (const event of events) {
    if (event.type === 'IpAllocated') {
      const { containerId, name, hostname, ip, netns, hostVeth, ports } = event.data;
      const address = parseIpv4(ip)!;
      byContainer.set(containerId, { containerId, name, hostname, ip: address, netns, hostVeth, ports });
      byIp.set(address, containerId);
      lastIp = address;
    } else if (event.type === 'IpReleased') {
      const current = byContainer.get(event.data.containerId);
      if (current) {
        byContainer.delete(current.containerId);
        byIp.delete(current.ip);
      }
    }
  }
  return { byContainer, byIp, lastIp };
}

export interface AllocateCommand {
  readonly containerId: string;
  readonly name: string;
  readonly hostname?: string;
  /** `--ip`; any free address when absent. */
  readonly staticIp?: string;
  /** Where it will be wired: recorded with the address. */
  readonly netns: string;
  readonly hostVeth: string;
  /** Host ports already resolved (a 0 replaced by a port the kernel found free). */
  readonly ports: readonly PublishedPort[];
}

export type AllocateDecision =
  | { readonly kind: 'allocated'; readonly allocation: Allocation; readonly existing: boolean }
  | { readonly kind: 'failed'; readonly code: NetworkErrorCode; readonly message: string };

/** Two published ports collide when protocol and port match and either listens on every address. */
export const portsCollide = (a: PublishedPort, b: PublishedPort): boolean =>
  a.protocol === b.protocol &&
  a.hostPort === b.hostPort &&
  (a.hostIp === undefined || b.hostIp === undefined || a.hostIp === b.hostIp);

export const describePort = (p: PublishedPort): string =>
  `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}/${p.protocol}`;

/**
 * Addresses (and host ports) for a batch of requests against one node's state: one decision per
 * command, in order, and the events to append for all of them together. A container that
 * already holds an address keeps it (a redelivered request). Addresses go round-robin from the
 * last one handed out; the network, gateway (`.1`) and broadcast addresses are never given.
 */
export function decideAllocations(
  commands: readonly AllocateCommand[],
  state: NodeState,
  subnet: Ipv4Network,
  node: string,
): { decisions: AllocateDecision[]; events: { type: 'IpAllocated'; data: EventData<'IpAllocated'> }[] } {
  const first = subnet.base + 2;
  const last = subnet.base + networkSize(subnet) - 2;
  const takenIps = new Set(state.byIp.keys());
  const takenPorts: PublishedPort[] = [...state.byContainer.values()].flatMap((a) => a.ports);
  const inBatch = new Map<string, Allocation>();
  let cursor = state.lastIp;
  const decisions: AllocateDecision[] = [];
  const allocations: Allocation[] = [];

  const fail = (code: NetworkErrorCode, message: string): AllocateDecision => ({
    kind: 'failed',
    code,
    message,
  });
  const pickIp = (command: AllocateCommand): number | AllocateDecision => {
    if (command.staticIp !== undefined) {
      const ip = parseIpv4(command.staticIp);
      if (ip === undefined || !contains(subnet, ip) || ip < first || ip > last) {
        return fail(
          NetworkErrorCode.IpUnavailable,
          `--ip ${command.staticIp} is not a container address of this node's subnet ${formatCidr(subnet)} (${formatIpv4(first)}–${formatIpv4(last)})`,
        );
      }
      if (takenIps.has(ip)) {
        const holder = state.byIp.get(ip);
        return fail(
          NetworkErrorCode.IpUnavailable,
          `--ip ${command.staticIp} is already allocated${holder ? ` to container ${holder.slice(0, 12)}` : ''}; choose another address or leave --ip out`,
        );
      }
      return ip;
    }
    const size = last - first + 1;
    const start = cursor >= first && cursor <= last ? cursor - first + 1 : 0;
    for (let i = 0; i < size; i++) {
      const ip = first + ((start + i) % size);
      if (!takenIps.has(ip)) return ip;
    }
    return fail(
      NetworkErrorCode.SubnetExhausted,
      `every address of this node's subnet ${formatCidr(subnet)} is allocated (${size} containers); remove containers or lease a larger subnet`,
    );
  };

  for (const command of commands) {
    const existing = state.byContainer.get(command.containerId) ?? inBatch.get(command.containerId);
    if (existing) {
      decisions.push({ kind: 'allocated', allocation: existing, existing: true });
      continue;
    }
    const clash = command.ports.find((p, i) =>
      [...takenPorts, ...command.ports.slice(0, i)].some((t) => portsCollide(t, p)),
    );
    if (clash) {
      decisions.push(
        fail(
          NetworkErrorCode.PortInUse,
          `host port ${describePort(clash)} is already published by another container; choose another host port`,
        ),
      );
      continue;
    }
    const ip = pickIp(command);
    if (typeof ip !== 'number') {
      decisions.push(ip);
      continue;
    }
    takenIps.add(ip);
    takenPorts.push(...command.ports);
    if (command.staticIp === undefined) cursor = ip;
    const allocation: Allocation = {
      containerId: command.containerId,
      name: command.name,
      hostname: command.hostname,
      ip,
      netns: command.netns,
      hostVeth: command.hostVeth,
      ports: command.ports,
    };
    inBatch.set(command.containerId, allocation);
    allocations.push(allocation);
    decisions.push({ kind: 'allocated', allocation, existing: false });
  }
  return { decisions, events: allocations.map((a) => allocatedEvent(a, node)) };
}

function allocatedEvent(
  a: Allocation,
  node: string,
): { type: 'IpAllocated'; data: EventData<'IpAllocated'> } {
  return {
    type: 'IpAllocated',
    data: {
      containerId: a.containerId,
      node,
      name: a.name,
      ...(a.hostname === undefined ? {} : { hostname: a.hostname }),
      ip: formatIpv4(a.ip),
      netns: a.netns,
      hostVeth: a.hostVeth,
      ports: [...a.ports],
    },
  };
}

/** The release of a container's address, or nothing when it holds none (already released). */
export function decideRelease(
  containerId: string,
  reason: IpReleaseReason,
  state: NodeState,
  node: string,
): { type: 'IpReleased'; data: EventData<'IpReleased'> } | undefined {
  const current = state.byContainer.get(containerId);
  if (!current) return undefined;
  return { type: 'IpReleased', data: { containerId, node, ip: formatIpv4(current.ip), reason } };
}
