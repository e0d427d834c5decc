import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '@lxr/bus';
import { type EventStore, WrongExpectedVersionError } from '@lxr/event-store';
import {
  type ContainerRequested,
  containerStream,
  type EventData,
  type IpReleaseReason,
  type NetworkErrorCode,
  networkStream,
  type PublishedPort,
  type RecordedEvent,
} from '@lxr/events';
import { KeyedLock, processExists } from '@lxr/service-kit';
import {
  containerFilesDir,
  readHostResolvConf,
  removeContainerFiles,
  resolvConf,
  writeContainerFiles,
} from './dns-files.js';
import { NetworkError } from './errors.js';
import {
  addRules,
  deleteContainerRules,
  deleteRules,
  dnatRule,
  installFirewall,
  listDnatRules,
  ruleContainer,
} from './firewall.js';
import { resolveHostPorts } from './host-ports.js';
import { writeHostState } from './host-state.js';
import { HostsFiles } from './hosts-files.js';
import type { AllocateDecision, Allocation, Lease } from './ipam.decider.js';
import { formatCidr, formatIpv4, macForIpv4 } from './ipv4.js';

import {
  createContainerNetwork,
  deleteContainerNetwork,
  ensureBridge,
  listLinks,
  listNetns,
  NETNS_DIR,
} from './netns.js';
import { leaseSubnetOnHost, NodeAddresses } from './node-addresses.js';
import { type WarmLink, WarmPool, warmOwner } from './warm-pool.js';

/** What one node's network is made of; every name is configurable so tests never touch `lxr0`. */
export interface NodeNetworkSettings {
  readonly node: string;
  readonly home: string;
  readonly pool?: string | undefined;
  readonly subnetPrefixLength: number;
  readonly bridge: string;
  readonly chainPrefix: string;
  readonly netnsPrefix: string;
  readonly vethPrefix: string;
  /** Nameservers for containers when the host has none they can reach. */
  readonly dns: readonly string[];
  /** Namespaces (with veth pairs) kept ready ahead of requests; 0 makes each on demand. */
  readonly warm: number;
}

/** The log lines the network-allocator writes (pino's shape). */
export interface NetworkLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a reconciliation found and repaired. */
export interface ReconcileReport {
  readonly released: number;
  readonly netns: number;
  readonly veths: number;
  readonly rules: number;
  readonly rulesAdded: number;
  readonly files: number;
}

const EVENT_TYPES_GONE = new Set(['ContainerRemoved', 'ContainerFailed']);

/**
 * One node's container networking: it leases the node's subnet, keeps the bridge and lxr's
 * iptables chains, and for each container allocates an address (and host ports) in the log, wires
 * a namespace and veth pair, writes `/etc/hosts` and `/etc/resolv.conf`, and records
 * `NetworkReady`; on removal (or a failed start) it undoes all of it exactly once, and
 * {@link reconcile} repairs whatever a crash left between the log and the host.
 *
 * Each step is idempotent, so a redelivered event (the allocator was killed mid-way) ends in the
 * same place: the address is the one already allocated, leftovers of the namespace are replaced,
 * and the container's stream `network-<id>` says whether it was already done.
 */
export class NodeNetwork {
  readonly #locks = new KeyedLock();
  readonly hosts: HostsFiles;
  #warm: WarmPool | undefined;
  /** Containers' `/etc/resolv.conf`, made from the host's at start and at each reconciliation. */
  #resolvConf = '';

  private constructor(
    private readonly store: EventStore,
    readonly settings: NodeNetworkSettings,
    readonly lease: Lease,
    readonly addresses: NodeAddresses,
    private readonly logger: NetworkLogger,
  ) {
    this.hosts = new HostsFiles(
      settings.home,
      () => [...addresses.state.byContainer.values()],
      (error) => logger.warn({ err: error }, 'refreshing /etc/hosts files failed'),
    );
  }

  /**
   * Leases (or finds) the node's subnet, makes the bridge and the chains, reads the node's
   * addresses and reconciles the host with them.
   */
  static async start(
    store: EventStore,
    settings: NodeNetworkSettings,
    logger: NetworkLogger,
  ): Promise<NodeNetwork> {
    const lease = await leaseSubnetOnHost(store, settings);
    await ensureBridge(settings.bridge, lease.gateway, lease.subnet.prefixLength);
    const addresses = new NodeAddresses(store, settings.node, lease.subnet);
    await addresses.refresh();
    await writeHostState(settings.home, {
      bridge: settings.bridge,
      chainPrefix: settings.chainPrefix,
      netnsPrefix: settings.netnsPrefix,
      vethPrefix: settings.vethPrefix,
      subnet: formatCidr(lease.subnet),
    });
    const network = new NodeNetwork(store, settings, lease, addresses, logger);
    await installFirewall(
      { prefix: settings.chainPrefix, bridge: settings.bridge, subnet: lease.subnet },
      network.#liveRules(),
    );
    network.#resolvConf = resolvConf(await readHostResolvConf(), settings.dns);
    if (settings.warm > 0) {
      network.#warm = new WarmPool({
        size: settings.warm,
        bridge: settings.bridge,
        netnsPrefix: settings.netnsPrefix,
        vethPrefix: settings.vethPrefix,
        onError: (error) => logger.warn({ err: error }, 'making a namespace ahead of time failed'),
      });
    }
    logger.info(
      {
        subnet: formatCidr(lease.subnet),
        pool: lease.pool,
        bridge: settings.bridge,
        allocations: addresses.state.byContainer.size,
      },
      'node network ready',
    );
    return network;
  }

  /** The netns name of a container: `lxr-<12 hex>`. */
  netnsName(containerId: string): string {
    return `${this.settings.netnsPrefix}${containerId.slice(0, 12)}`;
  }

  /** The host end of its veth pair: the prefix and as much of the id as fits 15 characters. */
  vethName(containerId: string): string {
    return `${this.settings.vethPrefix}${containerId.slice(0, 15 - this.settings.vethPrefix.length)}`;
  }

  /** Handles an event of the container context; others' nodes and other types pass by. */
  async handle(event: RecordedEvent): Promise<void> {
    if (event.type === 'ContainerRequested') {
      const data = event.data as ContainerRequested['data'];
      if (data.node === this.settings.node) await this.setUp(data, event.metadata.eventId);
    } else if (EVENT_TYPES_GONE.has(event.type)) {
      const { containerId } = event.data as { containerId: string };
      const reason = event.type === 'ContainerRemoved' ? 'container-removed' : 'container-failed';
      await this.tearDown(containerId, reason, event.metadata.eventId);
    }
  }

  /** Wires a requested container and records `NetworkReady` (or `NetworkFailed`). */
  setUp(request: ContainerRequested['data'], causationId: string | null = null): Promise<void> {
    return this.#locks.run(request.containerId, () => this.#setUp(request, causationId));
  }

  async #setUp(request: ContainerRequested['data'], causationId: string | null): Promise<void> {
    const id = request.containerId;
    const t0 = performance.now();
    // Whether the container was handled already (a redelivery) is read while its address is
    // decided and its namespace wired; the rare redelivery then undoes what it started.
    const history = this.store.readStream(networkStream(id), { limit: 1 });
    history.catch(() => undefined);
    let ports: PublishedPort[];
    try {
      ports = await resolveHostPorts(request.ports ?? []);
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      if ((await history).length > 0) return;
      return this.#fail(id, error.code, error.message, causationId);
    }
    const { decision, early } = await this.#allocate(request, ports);
    let handled: readonly RecordedEvent[];
    try {
      handled = await history;
    } catch (error) {
      await this.#undo(early);
      throw error;
    }
    if (handled.length > 0) {
      // Ready, failed or released already: give back what this attempt took.
      if (early) {
        await this.#undo(early);
        await this.addresses.release(
          id,
          handled[0]!.type === 'NetworkFailed' ? 'network-failed' : 'container-removed',
        );
      }
      return;
    }
    const allocation = decision.kind === 'allocated' ? decision.allocation : undefined;
    const t1 = performance.now();
    let ready: EventData<'NetworkReady'>;
    try {
      if (early && allocation && sameAllocation(early.allocation, allocation)) {
        ready = await early.wired;
      } else {
        // Another writer took the address first (or there was nothing to wire early).
        await this.#undo(early);
        if (decision.kind === 'failed') return this.#fail(id, decision.code, decision.message, causationId);
        ready = await this.#wire(allocation!, undefined);
      }
    } catch (error) {
      this.logger.error({ err: error, containerId: id }, 'wiring the container network failed');
      await this.#unwire(id, allocation);
      await this.addresses.release(id, 'network-failed');
      const code = error instanceof NetworkError ? error.code : 'NETWORK_SETUP_FAILED';
      return this.#fail(id, code, messageOf(error), causationId);
    }
    const t2 = performance.now();
    try {
      await this.store.append(networkStream(id), 'no-stream', [
        { type: 'NetworkReady', data: ready, correlationId: id, causationId },
      ]);
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      // Another allocator finished first, or the container went while we wired it.
      const events = await this.store.readStream(networkStream(id));
      if (events.some((e) => e.type === 'NetworkReleased' || e.type === 'NetworkFailed')) {
        await this.#unwire(id, allocation);
        await this.addresses.release(id, 'container-removed');
      }
      return;
    }
    const ms = (a: number, b: number) => Math.round((b - a) * 100) / 100;
    this.logger.debug(
      {
        containerId: id,
        ip: ready.ip,
        allocateMs: ms(t0, t1),
        wireMs: ms(t1, t2),
        recordMs: ms(t2, performance.now()),
      },
      'network ready',
    );
    this.hosts.scheduleRefresh();
  }

  /**
   * Allocates the container's address (and host ports) with a link made ahead of time if one is
   * ready, else one named after the container, and starts wiring as soon as the address is decided,
   * while its append is in flight: `early` is that wiring, for the allocation as first decided.
   */
  async #allocate(
    request: ContainerRequested['data'],
    ports: PublishedPort[],
  ): Promise<{ decision: AllocateDecision; early: EarlyWiring | undefined }> {
    const id = request.containerId;
    const warm = this.#warm?.take();
    let early: EarlyWiring | undefined;
    const decision = await this.addresses
      .allocate(
        {
          containerId: id,
          name: request.name,
          ...(request.hostname === undefined ? {} : { hostname: request.hostname }),
          ...(request.ip === undefined ? {} : { staticIp: request.ip }),
          netns: warm?.netns ?? this.netnsName(id),
          hostVeth: warm?.hostVeth ?? this.vethName(id),
          ports,
        },
        (first) => {
          if (first.kind !== 'allocated' || first.existing) return;
          const wired = this.#wire(
            first.allocation,
            first.allocation.netns === warm?.netns ? warm : undefined,
          );
          wired.catch(() => undefined);
          early = { allocation: first.allocation, wired };
        },
      )
      .catch(async (error: unknown) => {
        await this.#undo(early);
        if (!early && warm) this.#warm!.giveBack(warm);
        throw error;
      });
    if (warm && early?.allocation.netns !== warm.netns) this.#warm!.giveBack(warm);
    return { decision, early };
  }

  /** Waits for an early wiring to settle and removes what it made. */
  async #undo(early: EarlyWiring | undefined): Promise<void> {
    if (!early) return;
    await early.wired.catch(() => undefined);
    await this.#unwire(early.allocation.containerId, early.allocation);
  }

  /** Namespace, veth, files and DNAT rules of one allocation; what `NetworkReady` reports. */
  async #wire(allocation: Allocation, warm: WarmLink | undefined): Promise<EventData<'NetworkReady'>> {
    const { containerId: id, ip, netns, hostVeth } = allocation;
    const mac = macForIpv4(ip);
    const { subnet, gateway } = this.lease;
    const address = { ip, prefixLength: subnet.prefixLength, gateway, mac };
    const [, files] = await Promise.all([
      warm
        ? warm.configure(address)
        : createContainerNetwork({ netns, hostVeth, bridge: this.settings.bridge, ...address }),
      writeContainerFiles(
        containerFilesDir(this.settings.home, id),
        this.hosts.contentFor(allocation),
        this.#resolvConf,
      ),
      addRules(this.#rulesOf(allocation)),
    ]);
    return {
      containerId: id,
      node: this.settings.node,
      netns,
      netnsPath: path.join(NETNS_DIR, netns),
      ip: formatIpv4(ip),
      prefixLength: subnet.prefixLength,
      gateway: formatIpv4(gateway),
      mac,
      bridge: this.settings.bridge,
      hostVeth,
      ...files,
      ports: [...allocation.ports],
    };
  }

  /** Removes whatever of a container's wiring exists; never fails for a part already gone. */
  async #unwire(id: string, allocation: Allocation | undefined): Promise<void> {
    await Promise.all([
      allocation === undefined || allocation.ports.length > 0
        ? deleteContainerRules(this.settings.chainPrefix, id)
        : undefined,
      deleteContainerNetwork(
        allocation?.netns ?? this.netnsName(id),
        allocation?.hostVeth ?? this.vethName(id),
      ),
      removeContainerFiles(containerFilesDir(this.settings.home, id)),
    ]);
  }

  async #fail(id: string, code: NetworkErrorCode | string, message: string, causationId: string | null) {
    this.logger.warn({ containerId: id, code, message }, 'container network failed');
    try {
      await this.store.append(networkStream(id), 'no-stream', [
        {
          type: 'NetworkFailed',
          data: { containerId: id, node: this.settings.node, code, message: message.slice(0, 4096) },
          correlationId: id,
          causationId,
        },
      ]);
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }

  /**
   * Undoes a container's network — DNAT rules, veth, namespace, files, then the address — and
   * records `NetworkReleased`, once: a second call (a redelivery, the reconciler) finds it done.
   * A container this node never wired is left to its own node.
   */
  tearDown(containerId: string, reason: IpReleaseReason, causationId: string | null = null): Promise<void> {
    return this.#locks.run(containerId, () => this.#tearDown(containerId, reason, causationId));
  }

  async #tearDown(id: string, reason: IpReleaseReason, causationId: string | null): Promise<void> {
    const [history] = await Promise.all([this.store.readStream(networkStream(id)), this.addresses.refresh()]);
    const allocation = this.addresses.state.byContainer.get(id);
    const released = history.some((e) => e.type === 'NetworkReleased');
    if (released && !allocation) return;
    if (!allocation) {
      // Not wired here: another node's container (its own allocator undoes it), or one whose
      // request this node has not handled yet — then the release below is its tombstone.
      const wiredBy = (history[0]?.data as { node?: string } | undefined)?.node;
      if (wiredBy !== undefined ? wiredBy !== this.settings.node : !(await this.#requestedHere(id))) return;
    }
    await this.#unwire(id, allocation);
    if (allocation) await this.addresses.release(id, reason);
    if (!released) {
      try {
        await this.store.append(networkStream(id), history.length, [
          {
            type: 'NetworkReleased',
            data: { containerId: id, node: this.settings.node, reason },
            correlationId: id,
            causationId,
          },
        ]);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    if (allocation) this.hosts.scheduleRefresh();
  }

  /** True when the container was requested on this node (its stream's first event says so). */
  async #requestedHere(id: string): Promise<boolean> {
    const [first] = await this.store.readStream(containerStream(id), { limit: 1 });
    return (
      first?.type === 'ContainerRequested' && (first.data as { node: string }).node === this.settings.node
    );
  }

  /** True when the container is removed, failed or unknown to the log. */
  async #containerGone(id: string): Promise<boolean> {
    const events = await this.store.readStream(containerStream(id));
    return events.length === 0 || events.some((e) => EVENT_TYPES_GONE.has(e.type));
  }

  /**
   * Compares the log with the host and repairs both: releases the addresses of containers that
   * are gone (removed or failed while the allocator was down), deletes namespaces, veths, rules
   * and files that belong to no allocation, and puts back DNAT rules an allocation misses.
   * Containers with an operation in flight are left alone.
   */
  async reconcile(): Promise<ReconcileReport> {
    const { netnsPrefix, vethPrefix, chainPrefix, home } = this.settings;
    const filesDir = path.join(home, 'network', 'containers');
    // The host first, then the log: anything wired was allocated before, so it is in what we read.
    const [netnses, links, rules, dirs, hostResolv] = await Promise.all([
      listNetns(netnsPrefix),
      listLinks(vethPrefix),
      listDnatRules(chainPrefix),
      readdir(filesDir).catch(() => [] as string[]),
      readHostResolvConf(),
    ]);
    this.#resolvConf = resolvConf(hostResolv, this.settings.dns);
    await this.addresses.refresh();
    // One failing repair is logged and the others go on; the next round retries it.
    const repair = async (what: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        this.logger.warn({ err: error, what }, 'reconciliation step failed');
      }
    };
    let released = 0;
    for (const allocation of [...this.addresses.state.byContainer.values()]) {
      const id = allocation.containerId;
      if (this.#locks.has(id)) continue;
      const network = await this.store.readStream(networkStream(id));
      const ended = network.some((e) => e.type === 'NetworkFailed' || e.type === 'NetworkReleased');
      if (ended || (await this.#containerGone(id))) {
        await repair(id, () => this.tearDown(id, 'reconciled'));
        released++;
      }
    }
    const allocations = [...this.addresses.state.byContainer.values()];
    const liveNames = new Set(allocations.flatMap((a) => [a.netns, a.hostVeth]));
    const busy = (id: string) => this.addresses.state.byContainer.has(id) || this.#locks.has(id);
    // A name is in use when an allocation records it, a warm pool (ours, or a live process's)
    // holds it, or a container being wired now may get it (named after its id).
    const inUse = (name: string, prefix: string) => {
      if (liveNames.has(name) || this.#warm?.owns(name)) return true;
      const owner = warmOwner(this.settings, name);
      if (owner !== undefined) return owner !== process.pid && processExists(owner);
      return this.#locks.hasPrefix(name.slice(prefix.length));
    };
    const orphanNetns = netnses.filter((n) => !inUse(n, netnsPrefix));
    const orphanLinks = links.filter((l) => !inUse(l, vethPrefix));
    const orphanRules = rules.filter((r) => {
      const id = ruleContainer(r);
      return id === undefined || !busy(id);
    });
    const orphanDirs = dirs.filter((d) => !busy(d));
    for (const netns of orphanNetns) await repair(netns, () => deleteContainerNetwork(netns, undefined));
    for (const link of orphanLinks) await repair(link, () => deleteContainerNetwork('', link));
    await repair('stray DNAT rules', () => deleteRules(orphanRules));
    for (const dir of orphanDirs) await repair(dir, () => removeContainerFiles(path.join(filesDir, dir)));
    const present = new Set(rules.map(ruleContainer));
    const missing = allocations.filter(
      (a) => a.ports.length > 0 && !present.has(a.containerId) && !this.#locks.has(a.containerId),
    );
    await repair('missing DNAT rules', () => addRules(missing.flatMap((a) => this.#rulesOf(a))));
    const report = {
      released,
      netns: orphanNetns.length,
      veths: orphanLinks.length,
      rules: orphanRules.length,
      rulesAdded: missing.length,
      files: orphanDirs.length,
    };
    if (Object.values(report).some((n) => n > 0)) this.logger.info(report, 'reconciled');
    return report;
  }

  #rulesOf(a: Allocation): string[] {
    return a.ports.map((p) => dnatRule(this.settings.chainPrefix, a.containerId, a.ip, p));
  }

  #liveRules(): string[] {
    return [...this.addresses.state.byContainer.values()].flatMap((a) => this.#rulesOf(a));
  }

  /** Starts making namespaces ahead of time (after the first reconciliation, which would see them). */
  startWarmPool(): void {
    this.#warm?.start();
  }

  /** Stops background work and deletes the namespaces made ahead of time that no container got. */
  async close(): Promise<void> {
    this.hosts.close();
    await this.#warm?.close();
  }
}

/** Wiring started for an allocation before its append was known to succeed. */
interface EarlyWiring {
  readonly allocation: Allocation;
  readonly wired: Promise<EventData<'NetworkReady'>>;
}

function sameAllocation(a: Allocation, b: Allocation): boolean {
  return (
    a.ip === b.ip &&
    a.netns === b.netns &&
    a.hostVeth === b.hostVeth &&
    JSON.stringify(a.ports) === JSON.stringify(b.ports)
  );
}
