// `npm run bench -- unpack`: the layer unpacker against GNU tar on the same ~100 MB gzip layer.
import { execFile as execFileCb } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createDecompressor } from '@lxr/oci';
import { unpackLayer } from '@lxr/rootfs-builder/unpack';
import { compress, hostFiles, sha256, tarHostFiles } from '@lxr/testkit';
import { type BenchRow, type BenchSection, cpuMeter, formatInt, formatMs, quantile, timed } from './bench.js';

const execFile = promisify(execFileCb);
const RUNS = Number(process.env['LXR_BENCH_UNPACK_RUNS'] ?? 5);
/** Uncompressed bytes of host files; gzip makes ~100 MB of this mix of libraries and docs. */
const LAYER_BYTES = Number(process.env['LXR_BENCH_UNPACK_BYTES'] ?? 200 * 1024 * 1024);
/** Files above this are left out, as a layer is mostly small files, not one 300 MB binary. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const RATIO_GOAL = 1.2;

const median = (xs: readonly number[]) => quantile(xs, 0.5);

export const unpackBench: BenchSection = {
  id: 'unpack',
  title: 'Layer unpacking',
  setup:
    `A gzip layer of real files from /usr/lib and /usr/share (~${Math.round(LAYER_BYTES / 2 ** 20)} MiB uncompressed), ` +
    `unpacked ${RUNS} times by \`tar -xzf --same-owner\` (GNU tar, root) and by lxr's unpackLayer ` +
    '(node gunzip → worker thread: sha256 diffID check, tar Parser, writes), alternating, `sync` between runs; medians.',
  async run(log) {
    const dir = await mkdtemp(path.join(tmpdir(), 'lxr-bench-unpack-'));
    try {
      const files = [
        ...(await hostFiles('/usr/lib', LAYER_BYTES * 0.6, MAX_FILE_BYTES)),
        ...(await hostFiles('/usr/share', LAYER_BYTES * 0.4, MAX_FILE_BYTES)),
      ];
      const tar = await tarHostFiles(files);
      const diffId = sha256(tar);
      const gz = await compress(tar, 'gzip');
      const layer = path.join(dir, 'layer.tar.gz');
      await writeFile(layer, gz);
      log(
        `${files.length} files, ${formatInt(tar.length / 1e6)} MB tar, ${formatInt(gz.length / 1e6)} MB gzip`,
      );

      const tarTimes: number[] = [];
      const lxrTimes: number[] = [];
      // How long the event loop waits while layers unpack: the service must stay responsive. One
      // histogram per run: a re-enabled one counts the time it was off as its first delay.
      const loopP99: number[] = [];
      const loopMax: number[] = [];
      const cpu = cpuMeter();
      for (let run = 0; run < RUNS; run++) {
        const gnu = path.join(dir, `tar-${run}`);
        await mkdir(gnu);
        await execFile('sync');
        tarTimes.push(await timed(() => execFile('tar', ['-xzf', layer, '-C', gnu, '--same-owner'])));
        await rm(gnu, { recursive: true });
        await execFile('sync');
        const ours = path.join(dir, `lxr-${run}`);
        const loop = monitorEventLoopDelay({ resolution: 1 });
        loop.enable();
        lxrTimes.push(
          await timed(() =>
            unpackLayer(
              createReadStream(layer, { highWaterMark: 1024 * 1024 }).pipe(createDecompressor('gzip')),
              ours,
              { expectedDiffId: diffId },
            ),
          ),
        );
        loop.disable();
        loopP99.push(loop.percentile(99) / 1e6);
        loopMax.push(loop.max / 1e6);
        await rm(ours, { recursive: true });
        log(`run ${run + 1}: tar ${formatMs(tarTimes.at(-1)!)}, lxr ${formatMs(lxrTimes.at(-1)!)}`);
      }
      const load = cpu.stop();
      const ratio = median(lxrTimes) / median(tarTimes);
      const size = `${formatInt(gz.length / 1e6)} MB gzip, ${files.length} files`;
      const rows: BenchRow[] = [
        { name: 'tar -xzf (GNU tar), p50', result: formatMs(median(tarTimes)), notes: size },
        {
          name: 'lxr unpackLayer, p50',
          result: formatMs(median(lxrTimes)),
          notes: `${formatInt(tar.length / 1e6 / (median(lxrTimes) / 1000))} MB/s of tar; ${load}`,
        },
        {
          name: 'lxr / tar',
          result: `${ratio.toFixed(2)}×`,
          goal: `≤ ${RATIO_GOAL}×`,
          met: ratio <= RATIO_GOAL,
          notes: `runs: tar ${tarTimes.map((t) => t.toFixed(0)).join('/')} ms, lxr ${lxrTimes.map((t) => t.toFixed(0)).join('/')} ms`,
        },
        {
          name: 'event loop delay while lxr unpacks, p99 (median of runs) / max',
          result: `${formatMs(median(loopP99))} / ${formatMs(Math.max(...loopMax))}`,
          notes: 'the synchronous writes run in a worker thread',
        },
      ];
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
