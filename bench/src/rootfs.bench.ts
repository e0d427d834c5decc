/**
 * The rootfs-builder: preparing a container's root filesystem from cached layers (mkdir + overlay
 * mount through lxr-mount), for 3 and 128 layers, against util-linux `mount`; and a cold container
 * (ContainerRequested → RootfsPrepared through image-puller and rootfs-builder processes) with and
 * without pipelined unpacking.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { connectBus } from '@lxr/bus';
import { createOutboxRelay, createPostgresEventStore } from '@lxr/event-store';
import { containerStream, imagePullStream, newContainerId, rootfsStream } from '@lxr/events';
import { ContainerRootfs, LayerCache, Mounter, mountPoints } from '@lxr/rootfs-builder/testing';
import {
  busyboxRootfs,
  hostFiles,
  layerFrom,
  type ManagedProcess,
  makeImage,
  makeLayer,
  pushImage,
  requiresRoot,
  startNats,
  startPostgres,
  startRegistry,
  startService,
  type TestLayer,
  tarHostFiles,
  waitFor,
} from '@lxr/testkit';
import { type BenchRow, type BenchSection, formatMs, quantile, timed } from './bench.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const HELPER = path.join(repoRoot, 'native/build/lxr-mount');
const RUNS = Number(process.env['LXR_BENCH_ROOTFS_RUNS'] ?? 200);
const COLD_RUNS = Number(process.env['LXR_BENCH_ROOTFS_COLD_RUNS'] ?? 3);
/** Uncompressed bytes of each of the cold image's 4 layers (host binaries). */
const COLD_LAYER_BYTES = Number(process.env['LXR_BENCH_ROOTFS_LAYER_BYTES'] ?? 40 * 1024 * 1024);
const PREPARE_GOAL_MS = 5;

const p50 = (xs: readonly number[]) => quantile(xs, 0.5);
const p99 = (xs: readonly number[]) => quantile(xs, 0.99);
const spread = (xs: readonly number[]) => `p50 ${formatMs(p50(xs))}, p99 ${formatMs(p99(xs))}`;

/** An image of a busybox layer and `n - 1` one-file layers, as uncompressed test layers. */
async function stackOf(n: number, tag: string): Promise<TestLayer[]> {
  const layers = [await layerFrom(busyboxRootfs, 'none')];
  for (let i = 1; i < n; i++) {
    layers.push(
      await layerFrom(async (dir) => {
        await mkdir(path.join(dir, 'layers'), { recursive: true });
        await writeFile(path.join(dir, 'layers', `${tag}-${i}`), `${i}`);
      }, 'none'),
    );
  }
  return layers;
}

/** Runs a program to its end, failing unless it exits 0. */
function runOnce(command: string, args: readonly string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

async function warmPrepare(log: (line: string) => void, rows: BenchRow[]): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-bench-rootfs-'));
  const mounter = new Mounter(HELPER);
  try {
    const cache = await LayerCache.open(path.join(dir, 'layers'));
    const containers = new ContainerRootfs(path.join(dir, 'rootfs'), cache, mounter);
    for (const n of [3, 128]) {
      log(`${n}-layer image: unpacking once`);
      const layers = await stackOf(n, `s${n}`);
      for (const l of layers)
        await cache.ensure({ diffId: l.diffId, open: async () => Readable.from([l.blob]) });
      const diffIds = layers.map((l) => l.diffId);
      const prepare: number[] = [];
      const remove: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const id = `bench-${n}-${i}`;
        prepare.push(await timed(() => containers.create(id, diffIds)));
        remove.push(await timed(() => containers.remove(id)));
      }
      rows.push({
        name: `prepare a rootfs, ${n} cached layers (lxr-mount serve: mkdir u/w/m + overlay; layers.json)`,
        result: spread(prepare),
        goal: `≤ ${PREPARE_GOAL_MS} ms p50`,
        met: p50(prepare) <= PREPARE_GOAL_MS,
        notes: `${RUNS} runs`,
      });
      rows.push({ name: 'remove it (unmount, mountinfo check, rm -r)', result: spread(remove) });

      // The overlay mount alone, a process per mount: why the helper stays running.
      const lower = cache.lowerdir(diffIds);
      const base = path.join(dir, 'alone');
      const alone = async (mount: () => Promise<void>) => {
        const samples: number[] = [];
        for (let i = 0; i < Math.min(RUNS, 100); i++) {
          await rm(base, { recursive: true, force: true });
          await Promise.all(['u', 'w', 'm'].map((d) => mkdir(path.join(base, d), { recursive: true })));
          samples.push(await timed(mount));
          await mounter.unmount(`${base}/m`);
        }
        return samples;
      };
      const [u, w, m] = [`${base}/u`, `${base}/w`, `${base}/m`];
      const oneShot = await alone(() => runOnce(HELPER, ['overlay', cache.root, lower, u, w, m]));
      rows.push({
        name: `the mount alone, one lxr-mount process per mount, ${n} layers`,
        result: spread(oneShot),
      });
      const options = `lowerdir=${lower},upperdir=${u},workdir=${w}`;
      const util = await alone(() =>
        runOnce('mount', ['-t', 'overlay', 'overlay', '-o', options, m], cache.root),
      );
      rows.push({ name: `the mount alone through util-linux mount, ${n} layers`, result: spread(util) });
    }
  } finally {
    for (const point of await mountPoints()) if (point.startsWith(`${dir}/`)) await mounter.unmount(point);
    mounter.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function coldContainers(log: (line: string) => void, rows: BenchRow[]): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const home = await mkdtemp(path.join(tmpdir(), 'lxr-bench-rootfs-cold-'));
  const node = 'bench-rootfs-node';
  const unmounter = new Mounter(HELPER);
  let builder: ManagedProcess | undefined;
  let puller: ManagedProcess | undefined;
  try {
    const [postgres, nats, registry] = await Promise.all([
      startPostgres({ fsync: false }),
      startNats(),
      startRegistry(),
    ]);
    cleanups.push(
      () => postgres.dispose(),
      () => nats.dispose(),
      () => registry.dispose(),
    );
    const store = createPostgresEventStore({ connectionString: postgres.url });
    await store.migrate();
    cleanups.push(() => store.close());
    const bus = await connectBus({ servers: nats.url, name: 'bench-rootfs' });
    await bus.ensureStreams();
    cleanups.push(() => bus.close());
    const relay = createOutboxRelay({
      connectionString: postgres.url,
      publish: (e, c) => bus.publish(e, c),
      pollIntervalMs: 50,
    });
    await relay.start();
    cleanups.push(() => relay.stop());

    log('building a 4-layer image of host binaries');
    const layers: TestLayer[] = [];
    for (const dir of ['/usr/bin', '/usr/lib/x86_64-linux-gnu', '/usr/share/doc', '/usr/lib/python3']) {
      layers.push(await makeLayer(await tarHostFiles(await hostFiles(dir, COLD_LAYER_BYTES)), 'gzip'));
    }
    await pushImage(registry.host, 'bench/cold', '1', makeImage(layers));
    const reference = `${registry.host}/bench/cold:1`;
    const env = (pipelining: boolean): NodeJS.ProcessEnv => ({
      ...process.env,
      LXR_HOME: home,
      LXR_NATS_URL: nats.url,
      LXR_DATABASE_URL: postgres.url,
      LXR_NODE_NAME: node,
      LXR_UNPACK_PIPELINING: String(pipelining),
      LXR_PULL_PROGRESS_MS: '1000',
    });
    const main = (service: string) => path.join(repoRoot, 'services', service, 'dist/main.js');

    // The two modes alternate, so a change in the machine's load hits both alike.
    const timesOf = new Map<boolean, number[]>([
      [true, []],
      [false, []],
    ]);
    for (let run = 0; run < COLD_RUNS; run++) {
      for (const pipelining of [true, false]) {
        const times = timesOf.get(pipelining)!;
        await builder?.stop(5_000);
        await puller?.stop(5_000);
        for (const point of await mountPoints())
          if (point.startsWith(`${home}/`)) await unmounter.unmount(point);
        for (const d of ['images', 'layers', 'rootfs'])
          await rm(path.join(home, d), { recursive: true, force: true });
        puller = await startService(
          main('image-puller'),
          path.join(home, 'image-puller.log'),
          env(pipelining),
          'the image-puller',
        );
        builder = await startService(
          main('rootfs-builder'),
          path.join(home, 'rootfs-builder.log'),
          env(pipelining),
          'the rootfs-builder',
        );
        const id = newContainerId();
        const started = performance.now();
        await store.append(containerStream(id), 'no-stream', [
          {
            type: 'ContainerRequested',
            correlationId: id,
            data: {
              containerId: id,
              name: `cold-${run}`,
              image: reference,
              node,
              env: [],
              labels: {},
              ide: false,
              resources: {},
            },
          },
        ]);
        await waitFor(
          async () => (await store.readStream(rootfsStream(id))).length > 0,
          'RootfsPrepared',
          300_000,
          10,
        );
        times.push(performance.now() - started);
        const outcome = (await store.readStream(rootfsStream(id)))[0]!;
        if (outcome.type !== 'RootfsPrepared')
          throw new Error(`cold run failed: ${JSON.stringify(outcome.data)}`);
        const pulled = (await store.readStream(imagePullStream(id))).some(
          (e) => e.type === 'ImagePullResolved',
        );
        if (pipelining && !pulled) throw new Error('no ImagePullResolved: the pull was not cold');
        await store.append(containerStream(id), 1, [
          { type: 'ContainerRemoved', correlationId: id, data: { containerId: id, name: `cold-${run}` } },
        ]);
      }
    }
    for (const [pipelining, times] of timesOf) {
      rows.push({
        name: `cold container, ContainerRequested → RootfsPrepared, ${pipelining ? 'pipelined unpack' : 'unpack after ImagePulled'}`,
        result: `median ${formatMs(p50(times))}`,
        notes: `runs: ${times.map((t) => (t / 1000).toFixed(1)).join(', ')} s; 4 gzip layers, ${(layers.reduce((s, l) => s + l.size, 0) / 1e6).toFixed(0)} MB compressed`,
      });
    }
  } finally {
    await builder?.stop(5_000);
    await puller?.stop(5_000);
    for (const point of await mountPoints()) if (point.startsWith(`${home}/`)) await unmounter.unmount(point);
    unmounter.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

export const rootfsBench: BenchSection = {
  id: 'rootfs',
  title: 'rootfs-builder: root filesystems from the layer cache',
  setup:
    `Warm: an image's layers already unpacked in the cache; each run makes a container's directories and mounts its ` +
    `overlay (${RUNS} runs), then unmounts and removes them; util-linux \`mount\` of the same overlay for comparison. ` +
    `Cold: image-puller and rootfs-builder processes with an empty store, a registry on loopback, a 4-layer image of host ` +
    `binaries; time from appending ContainerRequested to RootfsPrepared in the log (${COLD_RUNS} runs per mode).`,
  async run(log) {
    const reason = requiresRoot();
    if (reason) throw new Error(`the rootfs section mounts overlays: ${reason}`);
    const rows: BenchRow[] = [];
    await warmPrepare(log, rows);
    await coldContainers(log, rows);
    return rows;
  },
};
