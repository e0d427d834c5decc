import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectBus, type NatsBus } from '@lxr/bus';
import { createOutboxRelay, createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import {
  containerStream,
  type EventData,
  networkNodeStream,
  networkStream,
  newContainerId,
  type PortBinding,
  type RecordedEvent,
} from '@lxr/events';
import {
  type ManagedProcess,
  type PostgresServer,
  startNats,
  startPostgres,
  startService,
  waitFor,
} from '@lxr/testkit';
import { listDnatRules } from '../firewall.js';
import { clashesOf, hostNetworks } from '../host-networks.js';
import { parseCidr } from '../ipv4.js';
import { listLinks, listNetns } from '../netns.js';
import { purgeHostNetwork } from '../purge.js';

export { macForIpv4, parseIpv4 } from '../ipv4.js';
export { createContainerNetwork, deleteContainerNetwork, linkBatches } from '../netns.js';
export { run } from '../run.js';
export { WarmPool } from '../warm-pool.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** The names one harness uses on the host: unique per run, never lxr0, LXR-* or the default pool. */
export interface HarnessNames {
  readonly tag: string;
  readonly bridge: string;
  readonly chainPrefix: string;
  readonly netnsPrefix: string;
  readonly vethPrefix: string;
  readonly pool: string;
}

/** What the host holds of one harness's containers. */
export interface HostLeftovers {
  readonly netns: string[];
  readonly veths: string[];
  readonly rules: string[];
}

/**
 * Real PostgreSQL, NATS, the outbox relay and network-allocator processes (`dist/main.js`, as root)
 * with names of their own, for integration tests and benchmarks. `dispose` stops everything and
 * purges whatever the allocators made on the host, even after a failure.
 */
export interface NetworkHarness {
  readonly names: HarnessNames;
  readonly node: string;
  readonly home: string;
  readonly store: PostgresEventStore;
  readonly postgres: PostgresServer;
  /** Starts one more allocator process and waits until it is ready. */
  startAllocator(extraEnv?: Record<string, string>): Promise<ManagedProcess>;
  /** Appends a `ContainerRequested` for this node, as the gateway does; returns the id. */
  request(options?: { name?: string; ports?: PortBinding[]; ip?: string; id?: string }): Promise<string>;
  /** Appends `ContainerRemoved`, as the gateway does. */
  remove(containerId: string, name?: string): Promise<void>;
  /** The container's `network-<id>` stream. */
  networkEvents(containerId: string): Promise<readonly RecordedEvent[]>;
  /** Waits until the container's network stream holds an event of `type`, and returns it. */
  waitFor<T extends 'NetworkReady' | 'NetworkFailed' | 'NetworkReleased'>(
    containerId: string,
    type: T,
    timeoutMs?: number,
  ): Promise<EventData<T>>;
  /** The node stream's current allocations: container id → ip. */
  allocations(): Promise<Map<string, string>>;
  /** Everything of the harness's prefixes on the host (warm namespaces of running allocators too). */
  leftovers(): Promise<HostLeftovers>;
  /** Stops every allocator gracefully (which deletes their warm namespaces). */
  stopAllocators(): Promise<void>;
  dispose(): Promise<void>;
}

/** A pool for a test: a 10.x.0.0/16 (x in 200–249) that nothing on the host uses now. */
async function freeTestPool(): Promise<string> {
  const host = await hostNetworks();
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = `10.${200 + Math.floor(Math.random() * 50)}.0.0/16`;
    if (clashesOf(parseCidr(candidate)!, host).length === 0) return candidate;
  }
  throw new Error('no free 10.200–249.0.0/16 pool on this host for the test');
}

export interface NetworkHarnessOptions {
  readonly reconcileMs?: number;
  /** PostgreSQL's fsync; off by default (throwaway data), on for benchmarks. */
  readonly fsync?: boolean;
}

/** Names of a network of its own for one test run. */
export async function testNetworkNames(): Promise<HarnessNames> {
  const tag = randomBytes(2).toString('hex');
  return {
    tag,
    bridge: `lxrt${tag}`,
    chainPrefix: `LT${tag.toUpperCase()}`,
    netnsPrefix: `lt${tag}-`,
    vethPrefix: `lt${tag}`,
    pool: await freeTestPool(),
  };
}

/**
 * The network-allocator's variables for {@link testNetworkNames}: give them to `lxr up` (the
 * compose file passes them through) so an end-to-end run never touches `lxr0` or `LXR-*`.
 */
export function networkEnv(names: HarnessNames): Record<string, string> {
  return {
    LXR_BRIDGE: names.bridge,
    LXR_IPTABLES_PREFIX: names.chainPrefix,
    LXR_NETNS_PREFIX: names.netnsPrefix,
    LXR_VETH_PREFIX: names.vethPrefix,
    LXR_NETWORK_POOL: names.pool,
  };
}

/** {@link networkEnv} of fresh {@link testNetworkNames}. */
export const testNetworkEnv = async (): Promise<Record<string, string>> =>
  networkEnv(await testNetworkNames());

export async function startNetworkHarness(options: NetworkHarnessOptions = {}): Promise<NetworkHarness> {
  const names = await testNetworkNames();
  const { tag } = names;
  const node = `node-${tag}`;
  const home = await mkdtemp(path.join(tmpdir(), 'lxr-net-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(home, { recursive: true, force: true })];
  const allocators: ManagedProcess[] = [];
  // Every LXR_HOME an allocator ran with: each records the network it made, for the purge.
  const homes = new Set([home]);
  let store: PostgresEventStore | undefined;
  let bus: NatsBus | undefined;
  const dispose = async () => {
    await Promise.all(allocators.map((a) => a.stop(5_000)));
    for (const h of homes) await purgeHostNetwork(h).catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const [postgres, nats] = await Promise.all([
      startPostgres({ fsync: options.fsync ?? false }),
      startNats(),
    ]);
    cleanups.push(
      () => postgres.dispose(),
      () => nats.dispose(),
    );
    store = createPostgresEventStore({ connectionString: postgres.url });
    await store.migrate();
    cleanups.push(() => store!.close());
    bus = await connectBus({ servers: nats.url, name: 'network-harness' });
    await bus.ensureStreams();
    cleanups.push(() => bus!.close());
    const relay = createOutboxRelay({
      connectionString: postgres.url,
      publish: (event, chaining) => bus!.publish(event, chaining),
      pollIntervalMs: 200,
    });
    await relay.start();
    cleanups.push(() => relay.stop());
    const liveStore = store;

    const env = {
      ...process.env,
      LXR_HOME: home,
      LXR_NATS_URL: nats.url,
      LXR_DATABASE_URL: postgres.url,
      LXR_NODE_NAME: node,
      LXR_LOG_LEVEL: process.env['LXR_TEST_LOG_LEVEL'] ?? 'info',
      ...networkEnv(names),
      LXR_NETWORK_RECONCILE_MS: String(options.reconcileMs ?? 30_000),
    };

    const harness: NetworkHarness = {
      names,
      node,
      home,
      store: liveStore,
      postgres,
      async startAllocator(extraEnv = {}) {
        const logFile = path.join(home, `allocator-${allocators.length}.log`);
        if (extraEnv['LXR_HOME']) homes.add(extraEnv['LXR_HOME']);
        const proc = await startService(MAIN, logFile, { ...env, ...extraEnv }, 'the network-allocator');
        allocators.push(proc);
        return proc;
      },
      async request(o = {}) {
        const id = o.id ?? newContainerId();
        const data: EventData<'ContainerRequested'> = {
          containerId: id,
          name: o.name ?? `c-${id.slice(0, 8)}`,
          image: 'busybox',
          node,
          env: [],
          labels: {},
          ide: false,
          resources: {},
          ...(o.ports ? { ports: o.ports } : {}),
          ...(o.ip ? { ip: o.ip } : {}),
        };
        await liveStore.append(containerStream(id), 'no-stream', [
          { type: 'ContainerRequested', data, correlationId: id },
        ]);
        return id;
      },
      async remove(containerId, name) {
        await liveStore.append(containerStream(containerId), 'any', [
          {
            type: 'ContainerRemoved',
            data: { containerId, name: name ?? `c-${containerId.slice(0, 8)}` },
            correlationId: containerId,
          },
        ]);
      },
      networkEvents: (containerId) => liveStore.readStream(networkStream(containerId)),
      async waitFor(containerId, type, timeoutMs = 20_000) {
        let found: RecordedEvent | undefined;
        await waitFor(
          async () => {
            const events = await liveStore.readStream(networkStream(containerId));
            found = events.find((e) => e.type === type);
            const other = events.find((e) => e.type === 'NetworkFailed');
            if (!found && other && type !== 'NetworkReleased') {
              throw new Error(`expected ${type} but got NetworkFailed: ${JSON.stringify(other.data)}`);
            }
            return found !== undefined;
          },
          `${type} of container ${containerId.slice(0, 12)}`,
          timeoutMs,
        );
        return found!.data as never;
      },
      async allocations() {
        const events = await liveStore.readStream(networkNodeStream(node));
        const map = new Map<string, string>();
        for (const e of events) {
          const d = e.data as { containerId: string; ip: string };
          if (e.type === 'IpAllocated') map.set(d.containerId, d.ip);
          if (e.type === 'IpReleased') map.delete(d.containerId);
        }
        return map;
      },
      async leftovers() {
        const [netns, veths, rules] = await Promise.all([
          listNetns(names.netnsPrefix),
          listLinks(names.vethPrefix),
          listDnatRules(names.chainPrefix),
        ]);
        return { netns, veths, rules };
      },
      async stopAllocators() {
        await Promise.all(allocators.map((a) => a.stop(10_000)));
      },
      dispose,
    };
    return harness;
  } catch (error) {
    await dispose();
    throw error;
  }
}
