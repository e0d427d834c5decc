/**
 * Volumes: what `-v` adds to preparing a container (VolumeStore.prepare against real PostgreSQL) —
 * an existing named volume, a new anonymous one (VolumeCreated appended) and its removal with an
 * `--rm` container — and filling a new volume from the image against `cp -a` of the same tree.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPostgresEventStore } from '@lxr/event-store';
import { newContainerId } from '@lxr/events';
import { VolumeStore } from '@lxr/rootfs-builder/testing';
import { requiresRoot, startPostgres } from '@lxr/testkit';
import { type BenchRow, type BenchSection, formatMs, quantile, timed } from './bench.js';

const run = promisify(execFile);
const RUNS = Number(process.env['LXR_BENCH_VOLUME_RUNS'] ?? 200);
/** Files (4 KiB each, 20 per directory) in the image directory a new volume is filled from. */
const SEED_FILES = Number(process.env['LXR_BENCH_VOLUME_SEED_FILES'] ?? 2000);
const SEED_RUNS = 5;

const spread = (xs: readonly number[]) =>
  `p50 ${formatMs(quantile(xs, 0.5))}, p99 ${formatMs(quantile(xs, 0.99))}`;

export const volumesBench: BenchSection = {
  id: 'volumes',
  title: 'Volumes (rootfs-builder)',
  setup:
    `VolumeStore on PostgreSQL (fsync off) and a temp dir; ${RUNS} containers per prepare row; ` +
    `filling a new volume from an image directory of ${SEED_FILES} 4 KiB files, ${SEED_RUNS} runs, ` +
    'against `cp -a` of the same tree (page cache warm for both).',
  async run(log) {
    const skip = requiresRoot();
    if (skip) return [{ name: 'volumes', result: `skipped: ${skip}` }];
    const postgres = await startPostgres({ fsync: false });
    const store = createPostgresEventStore({ connectionString: postgres.url });
    const dir = await mkdtemp(path.join(tmpdir(), 'lxr-bench-volumes-'));
    try {
      await store.migrate();
      const logger = { info: () => {}, warn: () => {} };
      const volumes = new VolumeStore({ root: path.join(dir, 'volumes'), node: 'bench', store, logger });
      const rootfs = path.join(dir, 'rootfs');
      const seed = path.join(rootfs, 'seed');
      for (let i = 0; i < SEED_FILES; i++) {
        const sub = path.join(seed, `d${Math.floor(i / 20)}`);
        if (i % 20 === 0) await mkdir(sub, { recursive: true });
        await writeFile(path.join(sub, `f${i}`), Buffer.alloc(4096, i % 251));
      }
      const rows: BenchRow[] = [];

      log('prepare with an existing named volume');
      await volumes.create({ name: 'shared' });
      const named: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const id = newContainerId();
        ids.push(id);
        named.push(
          await timed(() => volumes.prepare(id, [{ source: 'shared', destination: '/data' }], rootfs)),
        );
      }
      rows.push({
        name: 'prepare: 1 existing named volume',
        result: spread(named),
        notes: 'records the use',
      });
      const released: number[] = [];
      for (const id of ids) released.push(await timed(() => volumes.release(id, { removeAnonymous: true })));
      rows.push({ name: 'release: 1 named volume', result: spread(released) });

      log('prepare with a new anonymous volume, then its --rm removal');
      const anonymous: number[] = [];
      const removal: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const id = newContainerId();
        anonymous.push(await timed(() => volumes.prepare(id, [{ destination: '/cache' }], rootfs)));
        removal.push(await timed(() => volumes.release(id, { removeAnonymous: true })));
      }
      rows.push({
        name: 'prepare: 1 new anonymous volume',
        result: spread(anonymous),
        notes: 'VolumeCreated + dirs',
      });
      rows.push({
        name: 'release --rm: its anonymous volume removed',
        result: spread(removal),
        notes: 'VolumeRemoved + rm',
      });

      log(`filling a new volume from ${SEED_FILES} files, against cp -a`);
      const seeding: number[] = [];
      const copying: number[] = [];
      for (let i = 0; i < SEED_RUNS; i++) {
        const id = newContainerId();
        seeding.push(
          await timed(() => volumes.prepare(id, [{ source: `seeded-${i}`, destination: '/seed' }], rootfs)),
        );
        await volumes.release(id, { removeAnonymous: true });
        await volumes.remove(`seeded-${i}`);
        const target = path.join(dir, `copy-${i}`);
        copying.push(await timed(() => run('cp', ['-a', '--', seed, target])));
        await rm(target, { recursive: true, force: true });
      }
      const ratio = quantile(seeding, 0.5) / quantile(copying, 0.5);
      rows.push({
        name: `prepare: new named volume filled from ${SEED_FILES} files`,
        result: spread(seeding),
        notes: `${ratio.toFixed(2)}× cp -a (p50 ${formatMs(quantile(copying, 0.5))})`,
      });
      return rows;
    } finally {
      await store.close();
      await postgres.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
