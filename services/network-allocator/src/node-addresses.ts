import { type EventStore, WrongExpectedVersionError } from '@lxr/event-store';
import {
  type IpReleaseReason,
  NETWORK_POOL_STREAM,
  type NetworkEvent,
  type NewEvent,
  networkNodeStream,
} from '@lxr/events';
import { NetworkError } from './errors.js';
import { choosePool, hostNetworks, refuseClash } from './host-networks.js';
import {
  type AllocateCommand,
  type AllocateDecision,
  type Allocation,
  decideAllocations,
  decideLease,
  decideRelease,
  emptyNode,
  emptyPool,
  evolvePool,
  foldNode,
  type Lease,
  type LeaseCommand,
  type NodeState,
} from './ipam.decider.js';
import { formatCidr, type Ipv4Network, overlaps } from './ipv4.js';

/** Reads a whole stream as network events (the store has validated them on the way in). */
async function readNetworkStream(store: EventStore, stream: string, fromVersion = 1) {
  const events = await store.readStream(stream, { fromVersion });
  return events as unknown as readonly (NetworkEvent & { metadata: { streamVersion: number } })[];
}

/**
 * Leases the node's subnet of the pool (or finds the lease it already has). Two nodes leasing at
 * once both append with the version they read; the loser re-reads and takes the next subnet.
 */
export async function leaseNodeSubnet(
  store: EventStore,
  command: LeaseCommand,
  correlationId: string,
): Promise<Lease> {
  for (;;) {
    const events = await readNetworkStream(store, NETWORK_POOL_STREAM);
    const state = events.reduce(evolvePool, emptyPool());
    const decision = decideLease(command, state);
    if (decision.kind === 'leased') return decision.lease;
    if (decision.kind === 'failed') throw new NetworkError(decision.code, decision.message);
    try {
      await store.append(NETWORK_POOL_STREAM, events.length, [{ ...decision.event, correlationId }]);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) continue;
      throw error;
    }
  }
}

/**
 * This node's lease: the one it holds (refused if the host now uses its range), else a new one
 * from the configured pool, else the pool the log records, else the first default that clashes
 * with nothing on the host. Routes into other nodes' subnets do not count as clashes.
 */
export async function leaseSubnetOnHost(
  store: EventStore,
  options: { node: string; pool?: string | undefined; subnetPrefixLength: number; bridge: string },
): Promise<Lease> {
  const [leases, seen] = await Promise.all([readPool(store), hostNetworks(options.bridge)]);
  // Other nodes' subnets are lxr's own: routes to them (or, in tests, their bridges) are no clash.
  const others = [...leases.values()].filter((l) => l.node !== options.node).map((l) => l.subnet);
  const host = seen.filter(
    (h) => !others.some((s) => h.network.prefixLength >= s.prefixLength && overlaps(s, h.network)),
  );
  const own = leases.get(options.node);
  if (own) {
    refuseClash(own.subnet, host, `this node's subnet ${formatCidr(own.subnet)} (leased from ${own.pool})`);
    return own;
  }
  const recorded = [...leases.values()][0]?.pool;
  const pool = choosePool(options.pool ?? recorded, host);
  return leaseNodeSubnet(
    store,
    { node: options.node, pool, subnetPrefixLength: options.subnetPrefixLength },
    options.node,
  );
}

/** Every lease of the pool, for `lxr network inspect` and the pool check. */
export async function readPool(store: EventStore): Promise<ReadonlyMap<string, Lease>> {
  const events = await readNetworkStream(store, NETWORK_POOL_STREAM);
  return events.reduce(evolvePool, emptyPool()).leases;
}

type Operation =
  | {
      kind: 'allocate';
      command: AllocateCommand;
      onDecided: ((decision: AllocateDecision) => void) | undefined;
      resolve: (d: AllocateDecision) => void;
      reject: (e: unknown) => void;
    }
  | {
      kind: 'release';
      containerId: string;
      reason: IpReleaseReason;
      resolve: (a: Allocation | undefined) => void;
      reject: (e: unknown) => void;
    };

/**
 * One node's addresses: its stream `network-node-<node>` folded in memory, and a queue that turns
 * every request made while an append is in flight into one batch — one decision, one append — so
 * a burst of 200 creations costs a handful of round trips. Another writer (a second allocator
 * process on the node) makes an append fail with `WrongExpectedVersionError`; the batch then
 * reads what that writer added and is decided again, so no address is ever given twice.
 */
export class NodeAddresses {
  #state: NodeState = emptyNode();
  #version = 0;
  #queue: Operation[] = [];
  #flushing: Promise<void> | undefined;
  readonly stream: string;

  constructor(
    private readonly store: EventStore,
    readonly node: string,
    readonly subnet: Ipv4Network,
  ) {
    this.stream = networkNodeStream(node);
  }

  /** The addresses as last read or written. */
  get state(): NodeState {
    return this.#state;
  }

  /** Reads what other writers appended since the last read. */
  async refresh(): Promise<NodeState> {
    const events = await readNetworkStream(this.store, this.stream, this.#version + 1);
    if (events.length > 0) {
      this.#state = foldNode(events, this.#state);
      this.#version = events.at(-1)!.metadata.streamVersion;
    }
    return this.#state;
  }

  /**
   * An address and host ports for a container; the same ones again when it already holds some.
   * `onDecided` hears the first decision as soon as it is made, before it is appended, so the
   * caller can start wiring while the append is in flight; the promise resolves with the decision
   * as recorded, which differs only when another writer took the address first.
   */
  allocate(
    command: AllocateCommand,
    onDecided?: (decision: AllocateDecision) => void,
  ): Promise<AllocateDecision> {
    return new Promise((resolve, reject) =>
      this.#enqueue({ kind: 'allocate', command, onDecided, resolve, reject }),
    );
  }

  /** Gives the container's address back; resolves with what it held, or undefined if nothing. */
  release(containerId: string, reason: IpReleaseReason): Promise<Allocation | undefined> {
    return new Promise((resolve, reject) =>
      this.#enqueue({ kind: 'release', containerId, reason, resolve, reject }),
    );
  }

  #enqueue(operation: Operation): void {
    this.#queue.push(operation);
    this.#kick();
  }

  #kick(): void {
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      this.#kick();
    });
  }

  async #flush(): Promise<void> {
    // Let the requests of this tick join the batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await this.#run(batch);
      } catch (error) {
        for (const op of batch) op.reject(error);
      }
    }
  }

  async #run(batch: Operation[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const allocations = batch.filter((op) => op.kind === 'allocate');
      const releases = batch.filter((op) => op.kind === 'release');
      // Releases first: a batch that frees an address and asks for one may reuse it.
      const released: (Allocation | undefined)[] = [];
      const events: Omit<NewEvent, 'correlationId'>[] = [];
      const correlations: string[] = [];
      for (const op of releases) {
        const event = decideRelease(op.containerId, op.reason, this.#state, this.node);
        const already = events.some(
          (e) =>
            e.type === 'IpReleased' && (e.data as { containerId: string }).containerId === op.containerId,
        );
        released.push(already ? undefined : this.#state.byContainer.get(op.containerId));
        if (event && !already) {
          events.push(event);
          correlations.push(op.containerId);
        }
      }
      const afterReleases = foldNode(events as NetworkEvent[], this.#state);
      const decided = decideAllocations(
        allocations.map((op) => op.command),
        afterReleases,
        this.subnet,
        this.node,
      );
      for (const [i, op] of allocations.entries()) {
        op.onDecided?.(decided.decisions[i]!);
        op.onDecided = undefined;
      }
      for (const event of decided.events) {
        events.push(event);
        correlations.push(event.data.containerId);
      }
      if (events.length > 0) {
        try {
          const result = await this.store.append(
            this.stream,
            this.#version,
            events.map((e, i) => ({ ...e, correlationId: correlations[i]! })),
          );
          this.#state = foldNode(result.events as unknown as NetworkEvent[], this.#state);
          this.#version = result.streamVersion;
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError) || attempt >= 1000) throw error;
          await this.refresh();
          continue;
        }
      }
      for (const [i, op] of releases.entries()) op.resolve(released[i]);
      for (const [i, op] of allocations.entries()) op.resolve(decided.decisions[i]!);
      return;
    }
  }
}
