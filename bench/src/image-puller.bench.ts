import { execFile as execFileCb } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImagePuller, ImageStore, RegistryClient } from '@lxr/oci';
import {
  hostFiles,
  layerFrom,
  makeImage,
  makeLayer,
  pushImage,
  startRegistry,
  tarHostFiles,
} from '@lxr/testkit';
import { type BenchRow, type BenchSection, cpuMeter, formatMs, quantile, timed } from './bench.js';

const execFile = promisify(execFileCb);
const RUNS = Number(process.env['LXR_BENCH_PULL_RUNS'] ?? 3);
/** Uncompressed bytes per big layer; gzip makes ~50 MB of each from these binaries. */
const LAYER_BYTES = Number(process.env['LXR_BENCH_LAYER_BYTES'] ?? 130 * 1024 * 1024);
const WARM_GOAL_MS = 20;
const PODMAN_RATIO_GOAL = 0.7;

const median = (xs: readonly number[]) => quantile(xs, 0.5);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Podman's flags for a throw-away store under `root`: the pull and the reset must name the same one. */
function podmanStorage(root: string): string[] {
  return [
    '--root',
    path.join(root, 'root'),
    '--runroot',
    path.join(root, 'run'),
    '--storage-driver',
    'overlay',
  ];
}

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** The tar of a big layer of real binaries from the host's Debian packages. */
async function hostTar(dir: string): Promise<Buffer> {
  return tarHostFiles(await hostFiles(dir, LAYER_BYTES));
}

export const imagePullerBench: BenchSection = {
  id: 'image-puller',
  title: 'image-puller: pulls from a loopback registry',
  setup:
    `A Debian docker-registry on 127.0.0.1 serves a 3-layer gzip image of host binaries (/usr/bin, /usr/lib, /usr/share; ` +
    `up to ${mb(LAYER_BYTES)} of files per layer). Cold pulls (${RUNS} runs each, interleaved, median): lxr's ImagePuller into an ` +
    'empty store (digests and diffIDs verified, fsync), `skopeo copy` to a `dir:` and `podman pull` into an empty ' +
    '`--root` (both from Debian). Warm: the same reference again. Shared: an image with two of its layers plus a new one.',
  async run(log) {
    const registry = await startRegistry();
    const dirs: string[] = [];
    const podmanRoots: string[] = [];
    try {
      log('building the image (tar + gzip of host files)');
      const tars = [
        await hostTar('/usr/bin'),
        await hostTar('/usr/lib/x86_64-linux-gnu'),
        await hostTar('/usr/share'),
      ];
      // gzip, as most registries serve; the same tars as zstd for a row of their own.
      const layers = await Promise.all(tars.map((tar) => makeLayer(tar, 'gzip')));
      const zstdLayers = await Promise.all(tars.map((tar) => makeLayer(tar, 'zstd')));
      const image = makeImage(layers);
      const extra = await layerFrom(async (d) => {
        await execFile('cp', ['-r', '/usr/share/doc', path.join(d, 'doc')]);
      }, 'gzip');
      const second = makeImage([layers[0]!, layers[1]!, extra]);
      const size = layers.reduce((s, l) => s + l.size, 0);
      log(`image: ${layers.map((l) => mb(l.size)).join(' + ')} = ${mb(size)} compressed`);
      await pushImage(registry.host, 'bench/big', '1', image);
      await pushImage(registry.host, 'bench/second', '1', second);
      await pushImage(registry.host, 'bench/zstd', '1', makeImage(zstdLayers));
      const zstdSize = zstdLayers.reduce((sum, l) => sum + l.size, 0);
      const reference = `${registry.host}/bench/big:1`;

      const lxr: number[] = [];
      const skopeo: number[] = [];
      const podman: number[] = [];
      let lastStore: ImageStore | undefined;
      for (let run = 0; run < RUNS; run++) {
        const storeDir = await tempDir('lxr-bench-store-');
        dirs.push(storeDir);
        const store = new ImageStore(storeDir);
        const puller = new ImagePuller(store, new RegistryClient());
        const cpu = cpuMeter();
        lxr.push(await timed(() => puller.pull(reference)));
        log(`lxr cold pull ${run + 1}: ${formatMs(lxr.at(-1)!)} (${cpu.stop()})`);
        lastStore = store;

        const skopeoDir = await tempDir('lxr-bench-skopeo-');
        dirs.push(skopeoDir);
        skopeo.push(
          await timed(() =>
            execFile('skopeo', [
              'copy',
              '--quiet',
              '--src-tls-verify=false',
              `docker://${reference}`,
              `dir:${path.join(skopeoDir, 'image')}`,
            ]),
          ),
        );
        log(`skopeo copy ${run + 1}: ${formatMs(skopeo.at(-1)!)}`);

        const podmanRoot = await tempDir('lxr-bench-podman-');
        podmanRoots.push(podmanRoot);
        podman.push(
          await timed(() =>
            execFile('podman', [
              ...podmanStorage(podmanRoot),
              'pull',
              '--quiet',
              '--tls-verify=false',
              reference,
            ]),
          ),
        );
        log(`podman pull ${run + 1}: ${formatMs(podman.at(-1)!)}`);
      }

      // Warm: the image is in the store.
      const store = lastStore!;
      const puller = new ImagePuller(store, new RegistryClient());
      const warm: number[] = [];
      const warmNewer: number[] = [];
      for (let i = 0; i < 30; i++) {
        warm.push(await timed(() => puller.pull(reference)));
        warmNewer.push(await timed(() => puller.pull(reference, { policy: 'newer' })));
      }
      // Shared layers: only the new one is downloaded.
      let downloaded = 0;
      const sharedMs = await timed(async () => {
        downloaded = (await puller.pull(`${registry.host}/bench/second:1`)).downloadedBytes;
      });

      const zstd: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const storeDir = await tempDir('lxr-bench-store-');
        dirs.push(storeDir);
        const zstdPuller = new ImagePuller(new ImageStore(storeDir), new RegistryClient());
        zstd.push(await timed(() => zstdPuller.pull(`${registry.host}/bench/zstd:1`)));
        log(`lxr cold pull, zstd ${run + 1}: ${formatMs(zstd.at(-1)!)}`);
      }

      const ratio = median(lxr) / median(podman);
      return [
        {
          name: `cold pull, ${mb(size)} in 3 layers: lxr`,
          result: formatMs(median(lxr)),
          goal: `≤ ${PODMAN_RATIO_GOAL}× podman`,
          met: ratio <= PODMAN_RATIO_GOAL,
          notes: `${ratio.toFixed(2)}× podman, ${(size / 1e6 / (median(lxr) / 1000)).toFixed(0)} MB/s; runs ${lxr.map((x) => x.toFixed(0)).join(', ')} ms`,
        },
        {
          name: 'cold pull: skopeo copy to dir:',
          result: formatMs(median(skopeo)),
          notes: `no decompression, no diffID check; runs ${skopeo.map((x) => x.toFixed(0)).join(', ')} ms`,
        },
        {
          name: 'cold pull: podman pull',
          result: formatMs(median(podman)),
          notes: `also unpacks into overlay storage; runs ${podman.map((x) => x.toFixed(0)).join(', ')} ms`,
        },
        {
          name: `cold pull, the same tars as zstd (${mb(zstdSize)}): lxr`,
          result: formatMs(median(zstd)),
          notes: `zstd -3 layers, decompressed by the zstd command; runs ${zstd.map((x) => x.toFixed(0)).join(', ')} ms`,
        },
        {
          name: 'warm pull (present, answered from the store)',
          result: formatMs(median(warm)),
          goal: `≤ ${WARM_GOAL_MS} ms`,
          met: median(warm) <= WARM_GOAL_MS,
          notes: `p99 ${formatMs(quantile(warm, 0.99))}; 30 pulls`,
        },
        {
          name: 'warm pull, tag re-checked with the registry (HEAD)',
          result: formatMs(median(warmNewer)),
          goal: `≤ ${WARM_GOAL_MS} ms`,
          met: median(warmNewer) <= WARM_GOAL_MS,
          notes: `p99 ${formatMs(quantile(warmNewer, 0.99))}; what lxr pull does`,
        },
        {
          name: 'second image sharing 2 of 3 layers',
          result: formatMs(sharedMs),
          goal: 'downloads only the new layer',
          met: downloaded === extra.size,
          notes: `downloaded ${mb(downloaded)} (new layer ${mb(extra.size)})`,
        },
      ] satisfies BenchRow[];
    } finally {
      for (const root of podmanRoots) {
        await execFile('podman', [...podmanStorage(root), 'system', 'reset', '--force']).catch(
          () => undefined,
        );
        await rm(root, { recursive: true, force: true });
      }
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      await registry.dispose();
    }
  },
};
