import { networkStream, type RecordedEvent } from '@lxr/events';
import {
  createContainerNetwork,
  deleteContainerNetwork,
  linkBatches,
  macForIpv4,
  parseIpv4,
  run,
  startNetworkHarness,
  WarmPool,
} from '@lxr/network-allocator/testing';
import { type BenchRow, type BenchSection, cpuMeter, formatMs, quantile } from './bench.js';

const SEQUENTIAL = Number(process.env['LXR_BENCH_NETWORK_N'] ?? 100);
const BURST = Number(process.env['LXR_BENCH_NETWORK_BURST'] ?? 50);
const SETUPS = Number(process.env['LXR_BENCH_NETWORK_SETUPS'] ?? 50);
const READY_P50_GOAL_MS = 15;

const ms = (from: string, to: string) => Date.parse(to) - Date.parse(from);
const spread = (samples: number[]) =>
  `p50 ${formatMs(quantile(samples, 0.5))}, p95 ${formatMs(quantile(samples, 0.95))}, p99 ${formatMs(quantile(samples, 0.99))}`;

/**
 * `ContainerRequested` → `NetworkReady` through the real path: the event appended to PostgreSQL,
 * relayed to JetStream, handled by a network-allocator process (address in the log, namespace,
 * veth, files), `NetworkReady` appended. Measured between the two events' recorded timestamps.
 */
export const networkBench: BenchSection = {
  id: 'network',
  title: 'network-allocator: ContainerRequested → NetworkReady, and namespace + veth setup',
  setup:
    `Real PostgreSQL (fsync on), nats-server, the outbox relay and one network-allocator process (as root) ` +
    `on a bridge, pool and chains of the bench's own; ${SEQUENTIAL} containers one after another, then a burst of ` +
    `${BURST} at once; latency is NetworkReady's recorded time minus ContainerRequested's. Namespace + veth ` +
    `setup alone: ${SETUPS} containers with the allocator's two \`ip -batch\` processes against the same steps as ` +
    'one `ip` command each (7 processes), alternating, in the same run; and the hot path, configuring a ' +
    'namespace the allocator made ahead of time.',
  async run(log) {
    const h = await startNetworkHarness({ fsync: true });
    const rows: BenchRow[] = [];
    try {
      await h.startAllocator({ LXR_LOG_LEVEL: 'warn' });
      const wake = new Set<() => void>();
      const off = h.store.notifications.subscribe(() => {
        for (const w of wake) w();
      });
      const ready = async (id: string): Promise<RecordedEvent> => {
        for (;;) {
          const woken = new Promise<void>((r) => {
            const w = () => {
              wake.delete(w);
              r();
            };
            wake.add(w);
            setTimeout(w, 50);
          });
          const events = await h.store.readStream(networkStream(id));
          const done = events.find((e) => e.type === 'NetworkReady' || e.type === 'NetworkFailed');
          if (done) {
            if (done.type === 'NetworkFailed') throw new Error(`NetworkFailed: ${JSON.stringify(done.data)}`);
            return done;
          }
          await woken;
        }
      };
      const requestedAt = async (id: string) =>
        (await h.store.readStream(`container-${id}`, { limit: 1 }))[0]!.metadata.timestamp;

      // Warm up: the first request pays for JIT, connections and the durable consumer.
      for (let i = 0; i < 5; i++) await ready(await h.request());
      log(`sequential: ${SEQUENTIAL} containers`);
      const sequential: number[] = [];
      const sequentialCpu = cpuMeter();
      for (let i = 0; i < SEQUENTIAL; i++) {
        const id = await h.request();
        const r = await ready(id);
        sequential.push(ms(await requestedAt(id), r.metadata.timestamp));
      }
      rows.push({
        name: 'ContainerRequested → NetworkReady, one at a time',
        result: spread(sequential),
        goal: `p50 ≤ ${READY_P50_GOAL_MS} ms`,
        met: quantile(sequential, 0.5) <= READY_P50_GOAL_MS,
        notes: `${SEQUENTIAL} containers; ${sequentialCpu.stop()}`,
      });

      log(`burst: ${BURST} containers at once`);
      const cpu = cpuMeter();
      const started = Date.now();
      const burst = await Promise.all(Array.from({ length: BURST }, () => h.request()));
      const burstReady = await Promise.all(burst.map(ready));
      const wall = Date.now() - started;
      const burstLatency = await Promise.all(
        burst.map(async (id, i) => ms(await requestedAt(id), burstReady[i]!.metadata.timestamp)),
      );
      rows.push({
        name: `ContainerRequested → NetworkReady, ${BURST} at once`,
        result: `${((BURST / wall) * 1000).toFixed(0)} containers/s; ${spread(burstLatency)}`,
        notes: cpu.stop(),
      });
      off();

      log(`namespace + veth setup: ${SETUPS} × 2 ways`);
      const gateway = parseIpv4(h.names.pool.replace(/\.0\/16$/, '.1'))!;
      const batched: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < SETUPS; i++) {
        const address = gateway + 100 + i; // in the node's /24, above the bench's containers
        const link = {
          netns: `${h.names.netnsPrefix}bench${i}`,
          hostVeth: `${h.names.vethPrefix}b${i}`,
          bridge: h.names.bridge,
          ip: address,
          prefixLength: 24,
          gateway,
          mac: macForIpv4(address),
        };
        let t = performance.now();
        await createContainerNetwork(link);
        batched.push(performance.now() - t);
        await deleteContainerNetwork(link.netns, link.hostVeth);
        const { host, inside } = linkBatches(link);
        t = performance.now();
        for (const line of host.trim().split('\n')) await run('ip', line.split(' '));
        for (const line of inside.trim().split('\n')) await run('ip', ['-n', link.netns, ...line.split(' ')]);
        plain.push(performance.now() - t);
        await deleteContainerNetwork(link.netns, link.hostVeth);
      }
      // The allocator's hot path: a link made ahead of time, configured through its waiting `ip`.
      const pool = new WarmPool({
        size: SETUPS,
        bridge: h.names.bridge,
        netnsPrefix: h.names.netnsPrefix,
        vethPrefix: h.names.vethPrefix,
        onError: (error) => log(`warm link failed: ${error}`),
      });
      pool.start();
      while (pool.ready < SETUPS) await new Promise((r) => setTimeout(r, 20));
      const warm: number[] = [];
      for (let i = 0; i < SETUPS; i++) {
        const link = pool.take()!;
        const address = gateway + 100 + i;
        const t = performance.now();
        await link.configure({ ip: address, prefixLength: 24, gateway, mac: macForIpv4(address) });
        warm.push(performance.now() - t);
        await deleteContainerNetwork(link.netns, link.hostVeth);
      }
      await pool.close();
      rows.push({
        name: 'address + route on a namespace made ahead of time (the allocator’s hot path)',
        result: spread(warm),
        notes: `${SETUPS} links; no process started`,
      });
      rows.push({
        name: 'netns + veth + address + route: 2 × `ip -batch` (the allocator)',
        result: spread(batched),
        notes: `${SETUPS} setups`,
      });
      rows.push({
        name: 'the same steps as one `ip` command each (7 processes)',
        result: spread(plain),
        notes: `${(quantile(plain, 0.5) / quantile(batched, 0.5)).toFixed(1)}× the batched p50`,
      });
    } finally {
      await h.dispose();
    }
    return rows;
  },
};
