import { type Static, Type } from '@sinclair/typebox';
import { AbsolutePath, ContainerId, Ipv4Address, NodeName } from './fields.js';

/** An IPv4 network in CIDR notation, e.g. `10.88.0.0/16`. */
export const Ipv4Cidr = Type.String({
  pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$',
  maxLength: 18,
  description: 'IPv4 network, CIDR',
});
const Mac = Type.String({ pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$', description: 'MAC address' });

/** A published port as the node resolved it: `hostPort` is the real port (never 0). */
export const PublishedPort = Type.Object(
  {
    /** The host address it listens on; every address of the host when absent. */
    hostIp: Type.Optional(Ipv4Address),
    hostPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  },
  { additionalProperties: false },
);
export type PublishedPort = Static<typeof PublishedPort>;

export const NodeSubnetLeasedData = Type.Object(
  {
    node: NodeName,
    /** The cluster pool the subnet was taken from. */
    pool: Ipv4Cidr,
    subnet: Ipv4Cidr,
    /** The bridge's address: the containers' default route. */
    gateway: Ipv4Address,
  },
  { additionalProperties: false },
);

export const IpAllocatedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** The container's name and hostname, for the other containers' `/etc/hosts`. */
    name: Type.String({ minLength: 1, maxLength: 128 }),
    hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    ip: Ipv4Address,
    /** The named network namespace and host veth the container gets, so a reconciler finds them. */
    netns: Type.String({ minLength: 1, maxLength: 64 }),
    hostVeth: Type.String({ minLength: 1, maxLength: 15 }),
    /** Host ports the container holds: taken here, under the node stream's optimistic concurrency. */
    ports: Type.Array(PublishedPort, { maxItems: 1024 }),
  },
  { additionalProperties: false },
);

/** Why an address went back to the node's subnet. */
export const IpReleaseReason = Type.Union([
  Type.Literal('container-removed'),
  Type.Literal('container-failed'),
  Type.Literal('network-failed'),
  /** Reconciliation found the container gone without a removal the allocator saw. */
  Type.Literal('reconciled'),
]);
export type IpReleaseReason = Static<typeof IpReleaseReason>;

export const IpReleasedData = Type.Object(
  { containerId: ContainerId, node: NodeName, ip: Ipv4Address, reason: IpReleaseReason },
  { additionalProperties: false },
);

export const NetworkReadyData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** The named network namespace (`ip netns` name) the container joins. */
    netns: Type.String({ minLength: 1, maxLength: 64 }),
    netnsPath: AbsolutePath,
    ip: Ipv4Address,
    prefixLength: Type.Integer({ minimum: 8, maximum: 30 }),
    gateway: Ipv4Address,
    mac: Mac,
    bridge: Type.String({ minLength: 1, maxLength: 15 }),
    /** The host end of the container's veth pair. */
    hostVeth: Type.String({ minLength: 1, maxLength: 15 }),
    /** Files the executor bind-mounts at `/etc/hosts` and `/etc/resolv.conf`. */
    hostsPath: AbsolutePath,
    resolvConfPath: AbsolutePath,
    ports: Type.Array(PublishedPort, { maxItems: 1024 }),
  },
  { additionalProperties: false },
);

/**
 * Stable codes of the network-allocator's failures: the `code` of `NetworkFailed` and of the
 * errors it logs. Documented in docs/ERRORS.md.
 */
export const NetworkErrorCode = {
  /** The configured pool overlaps a route or an address already on the host. */
  PoolClash: 'NETWORK_POOL_CLASH',
  /** `LXR_NETWORK_POOL` or the subnet size is not a usable IPv4 network. */
  PoolInvalid: 'NETWORK_POOL_INVALID',
  /** Every subnet of the pool is leased to some node. */
  PoolExhausted: 'NETWORK_POOL_EXHAUSTED',
  /** Every address of the node's subnet is allocated. */
  SubnetExhausted: 'NETWORK_SUBNET_EXHAUSTED',
  /** The static address asked for (`--ip`) is taken, outside the node's subnet, or reserved. */
  IpUnavailable: 'NETWORK_IP_UNAVAILABLE',
  /** A host port asked for (`-p`) is taken by another container or a process on the host. */
  PortInUse: 'NETWORK_PORT_IN_USE',
  /** `ip`, `iptables-restore` or a sysctl failed while wiring or unwiring a namespace. */
  SetupFailed: 'NETWORK_SETUP_FAILED',
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

export const NetworkFailedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** A `NETWORK_*` code of docs/ERRORS.md. */
    code: Type.String({ pattern: '^NETWORK_[A-Z_]+$' }),
    message: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);

export const NetworkReleasedData = Type.Object(
  { containerId: ContainerId, node: NodeName, reason: IpReleaseReason },
  { additionalProperties: false },
);

/** A node took its subnet of the cluster pool (stream `network-pool`). */
export type NodeSubnetLeased = { type: 'NodeSubnetLeased'; data: Static<typeof NodeSubnetLeasedData> };
/** An address (and host ports) went to a container (stream `network-node-<node>`). */
export type IpAllocated = { type: 'IpAllocated'; data: Static<typeof IpAllocatedData> };
/** An address (and its host ports) is free again (stream `network-node-<node>`). */
export type IpReleased = { type: 'IpReleased'; data: Static<typeof IpReleasedData> };
/** The container's namespace is wired: the executor starts it inside `netnsPath` (stream `network-<id>`). */
export type NetworkReady = { type: 'NetworkReady'; data: Static<typeof NetworkReadyData> };
/** The container's network could not be made; nothing of it is left (stream `network-<id>`). */
export type NetworkFailed = { type: 'NetworkFailed'; data: Static<typeof NetworkFailedData> };
/** Namespace, veth, rules and address are gone; the stream's last word (stream `network-<id>`). */
export type NetworkReleased = { type: 'NetworkReleased'; data: Static<typeof NetworkReleasedData> };

export type NetworkEvent =
  | NodeSubnetLeased
  | IpAllocated
  | IpReleased
  | NetworkReady
  | NetworkFailed
  | NetworkReleased;

export const networkEventSchemas = {
  NodeSubnetLeased: { version: 1, schema: NodeSubnetLeasedData, context: 'network' },
  IpAllocated: { version: 1, schema: IpAllocatedData, context: 'network' },
  IpReleased: { version: 1, schema: IpReleasedData, context: 'network' },
  NetworkReady: { version: 1, schema: NetworkReadyData, context: 'network' },
  NetworkFailed: { version: 1, schema: NetworkFailedData, context: 'network' },
  NetworkReleased: { version: 1, schema: NetworkReleasedData, context: 'network' },
} as const;

/** The cluster's address pool: one `NodeSubnetLeased` per node. */
export const NETWORK_POOL_STREAM = 'network-pool';
/** One node's addresses: `IpAllocated` / `IpReleased`, appended with optimistic concurrency. */
export const networkNodeStream = (node: string): string => `network-node-${node}`;
/** One container's network: `NetworkReady` or `NetworkFailed`, then `NetworkReleased`. */
export const networkStream = (containerId: string): string => `network-${containerId}`;
