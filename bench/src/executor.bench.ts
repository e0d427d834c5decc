/**
 * Containers through the whole stack (`lxr up`: gateway, image-puller, network-allocator, executor
 * with lxr-runtime; the rootfs-builder's overlay of the cached layer), side by side with podman (runc,
 * conmon) on the same busybox tree: run --rm, create→running, exec, rm -f, and what 200 idle
 * containers' monitors hold.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient, type LxrClient, readToken } from '@lxr/client';
import { COMPOSE_PORT_VARIABLES } from '@lxr/docker-free-compose';
import { createPostgresEventStore } from '@lxr/event-store';
import { containerStream } from '@lxr/events';
import { testNetworkEnv } from '@lxr/network-allocator/testing';
import {
  busyboxApplets,
  busyboxRootfs,
  freePort,
  layerFrom,
  makeImage,
  pushImage,
  startRegistry,
  tarDirectory,
} from '@lxr/testkit';
import { type BenchRow, type BenchSection, cpuMeter, formatMs, quantile, timed } from './bench.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repoRoot, 'libs/cli/dist/main.js');
const RUNS = Number(process.env['LXR_BENCH_EXECUTOR_RUNS'] ?? 15);
const IDLE = Number(process.env['LXR_BENCH_IDLE_CONTAINERS'] ?? 200);
const PODMAN_IMAGE = 'localhost/lxr-bench-busybox:latest';
// This machine's root cannot raise rlimits past its own, and podman asks for more by default.
const PODMAN_RUN = [
  'run',
  '--network',
  'none',
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=4096:4096',
];

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const p50 = (xs: number[]) => quantile(xs, 0.5);
const summary = (xs: number[]) => `p50 ${formatMs(p50(xs))}, p90 ${formatMs(quantile(xs, 0.9))}`;

/** Rss, Pss and private memory of a process, KiB, from smaps_rollup. */
async function memoryOf(pid: number): Promise<{ rss: number; pss: number; private: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kib('Rss'), pss: kib('Pss'), private: kib('Private_Clean') + kib('Private_Dirty') };
}

function podman(args: string[], input?: Buffer): string {
  const r = spawnSync('podman', args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

export const executorBench: BenchSection = {
  id: 'executor',
  title: 'Containers: lxr (gateway → executor → lxr-monitor → lxr-runtime) vs podman 4.3 (conmon, runc)',
  setup:
    `A busybox image (every applet) from a registry on loopback for lxr, the same tree \`podman import\`ed; ` +
    `${RUNS} runs each, one at a time; podman with --network none (lxr gives each container its own netns and ` +
    'veth); the rootfs-builder mounts an overlay of the cached layer for each container. CLI rows include starting the CLI (Node.js and its modules; `lxr --version` is its own row); API rows are one client in ' +
    'this process.',
  async run(log) {
    const rows: BenchRow[] = [];
    const cleanups: (() => Promise<unknown>)[] = [];
    const home = await mkdtemp(path.join(tmpdir(), 'lxr-bench-exec-'));
    await chmod(home, 0o755);
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, LXR_HOME: home, LXR_NODE_NAME: 'bench-node' };
    for (const name of COMPOSE_PORT_VARIABLES) env[name] = String(await freePort());
    Object.assign(env, await testNetworkEnv());
    delete env['LXR_TOKEN'];
    delete env['LXR_API_URL'];
    const lxr = async (...args: string[]) => run(process.execPath, [cli, ...args], { env, timeout: 120_000 });
    try {
      const registry = await startRegistry();
      cleanups.push(() => registry.dispose());
      const treeDir = await mkdtemp(path.join(tmpdir(), 'lxr-bench-tree-'));
      cleanups.push(() => rm(treeDir, { recursive: true, force: true }));
      await busyboxRootfs(treeDir, busyboxApplets());
      const layer = await layerFrom((dir) => busyboxRootfs(dir, busyboxApplets()), 'gzip');
      await pushImage(registry.host, 'bench/busybox', '1', makeImage([layer], { cmd: ['sh'] }));
      const image = `${registry.host}/bench/busybox:1`;
      podman(['import', '-', PODMAN_IMAGE], await tarDirectory(treeDir));
      cleanups.push(async () => podman(['rmi', '-f', PODMAN_IMAGE]));

      log('lxr up');
      await lxr('up');
      cleanups.push(() => lxr('down', '--purge').catch(() => undefined));
      const secret = async (file: string) =>
        (await readFile(path.join(home, 'secrets', file), 'utf8')).trim();
      const databaseUrl = `postgres://lxr:${await secret('postgres-password')}@127.0.0.1:${env['LXR_PG_PORT']}/lxr`;
      const store = createPostgresEventStore({ connectionString: databaseUrl });
      cleanups.push(() => store.close());
      const client: LxrClient = createClient({
        url: `http://127.0.0.1:${env['LXR_API_PORT']}`,
        token: await readToken(home, env),
      });
      // Pulls the image once: every measured run has it cached, as podman has its own.
      await lxr('run', '--rm', image, 'true');

      const cpu = cpuMeter();
      const cliStart: number[] = [];
      for (let i = 0; i < RUNS; i++) cliStart.push(await timed(() => lxr('--version')));
      rows.push({
        name: "lxr --version (the CLI's own start: Node.js and its modules)",
        result: summary(cliStart),
      });
      log('run --rm');
      const lxrRun: number[] = [];
      const podmanRun: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        lxrRun.push(await timed(() => lxr('run', '--rm', image, 'true')));
        podmanRun.push(await timed(async () => podman([...PODMAN_RUN, '--rm', PODMAN_IMAGE, 'true'])));
      }
      // The same through the API, without the CLI's own start.
      const apiRun: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        apiRun.push(
          await timed(async () => {
            const created = await client.containers.create({ image, command: ['true'], ide: false });
            for (;;) {
              const events = await store.readStream(containerStream(created.id));
              if (events.some((e) => e.type === 'ContainerExited' || e.type === 'ContainerFailed')) break;
              await new Promise((resolve) => setTimeout(resolve, 2));
            }
            await client.containers.remove(created.id, { force: true });
          }),
        );
      }
      rows.push(
        {
          name: 'run --rm IMAGE true through the API (create, exited, removed)',
          result: summary(apiRun),
          goal: '≥ 10× faster than podman',
          met: p50(podmanRun) / p50(apiRun) >= 10,
          notes: `${(p50(podmanRun) / p50(apiRun)).toFixed(1)}× podman`,
        },
        {
          name: 'lxr run --rm IMAGE true (CLI, end to end)',
          result: summary(lxrRun),
          notes: `${(p50(podmanRun) / p50(lxrRun)).toFixed(1)}× podman; the CLI's own start is ${p50(cliStart).toFixed(0)} ms`,
        },
        { name: 'podman run --rm IMAGE true', result: summary(podmanRun) },
      );

      log('create → running');
      const toRunning: number[] = [];
      const executorPart: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const created = await client.containers.create({ image, command: ['sleep', '1000'], ide: false });
        let events = await store.readStream(containerStream(created.id));
        while (!events.some((e) => e.type === 'ContainerStarted' || e.type === 'ContainerFailed')) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          events = await store.readStream(containerStream(created.id));
        }
        const at = (type: string) => Date.parse(events.find((e) => e.type === type)!.metadata.timestamp);
        toRunning.push(at('ContainerStarted') - at('ContainerRequested'));
        const inputs = await Promise.all(
          [`network-${created.id}`, `rootfs-${created.id}`].map((s) => store.readStream(s)),
        );
        const ready = Math.max(...inputs.map((es) => Date.parse(es[0]!.metadata.timestamp)));
        executorPart.push(at('ContainerStarted') - ready);
        await client.containers.remove(created.id, { force: true });
      }
      const podmanStart: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const name = `lxr-bench-${process.pid}-${i}`;
        podmanStart.push(
          await timed(async () =>
            podman([...PODMAN_RUN, '-d', '--name', name, PODMAN_IMAGE, 'sleep', '1000']),
          ),
        );
        podman(['rm', '-f', '-t', '0', name]);
      }
      rows.push(
        {
          name: 'create → running, cached image, no IDE (ContainerRequested → ContainerStarted)',
          result: summary(toRunning),
          goal: '≤ 100 ms p50',
          met: p50(toRunning) <= 100,
        },
        {
          name: '… of which the executor (NetworkReady and RootfsPrepared both in → ContainerStarted)',
          result: summary(executorPart),
        },
        { name: 'podman run -d IMAGE sleep (to running)', result: summary(podmanStart) },
      );

      log('exec');
      await lxr('run', '-d', '--name', 'bench-exec', image, 'sleep', '100000');
      const name = `lxr-bench-exec-${process.pid}`;
      podman([...PODMAN_RUN, '-d', '--name', name, PODMAN_IMAGE, 'sleep', '100000']);
      const lxrExec: number[] = [];
      const apiExec: number[] = [];
      const podmanExec: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        lxrExec.push(await timed(() => lxr('exec', 'bench-exec', 'true')));
        apiExec.push(
          await timed(async () => {
            const session = await client.containers.exec('bench-exec', { cmd: ['true'] });
            await session.exit;
          }),
        );
        podmanExec.push(await timed(async () => podman(['exec', name, 'true'])));
      }
      rows.push(
        {
          name: 'lxr exec NAME true (CLI)',
          result: summary(lxrExec),
          notes: `${(p50(podmanExec) / p50(lxrExec)).toFixed(1)}× podman`,
        },
        {
          name: 'exec true through the API (WebSocket, one client)',
          result: summary(apiExec),
          goal: '≤ 30 ms p50',
          met: p50(apiExec) <= 30,
        },
        { name: 'podman exec NAME true', result: summary(podmanExec) },
      );

      log('rm -f');
      const lxrRm: number[] = [];
      const lxrGone: number[] = [];
      const podmanRm: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { stdout } = await lxr('run', '-d', image, 'sleep', '100000');
        const id = stdout.trim();
        const start = process.hrtime.bigint();
        await lxr('rm', '-f', id);
        lxrRm.push(ms(start));
        while (spawnSync('test', ['-e', `/run/lxr/executor/${id}`]).status === 0) {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        lxrGone.push(ms(start));
        const pname = `lxr-bench-rm-${process.pid}-${i}`;
        podman([...PODMAN_RUN, '-d', '--name', pname, PODMAN_IMAGE, 'sleep', '100000']);
        // -t 0: SIGKILL at once, as lxr rm -f does (podman waits 10 s for sleep to ignore SIGTERM otherwise).
        podmanRm.push(await timed(async () => podman(['rm', '-f', '-t', '0', pname])));
      }
      rows.push(
        {
          name: 'lxr rm -f NAME (CLI, removal recorded)',
          result: summary(lxrRm),
          notes: `${(p50(podmanRm) / p50(lxrRm)).toFixed(1)}× podman`,
        },
        { name: '… until the node holds nothing of it', result: summary(lxrGone) },
        { name: 'podman rm -f -t 0 NAME', result: summary(podmanRm) },
      );
      const conmon = await memoryOf(Number(podman(['inspect', '--format', '{{.State.ConmonPid}}', name])));
      await client.containers.remove('bench-exec', { force: true });
      podman(['rm', '-f', '-t', '0', name]);
      rows.push({ name: 'CPU during the runs above', result: cpu.stop() });

      log(`${IDLE} idle containers`);
      const ids: string[] = [];
      const started = process.hrtime.bigint();
      for (let i = 0; i < IDLE; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, IDLE - i) }, () =>
            client.containers.create({ image, command: ['sleep', '100000'], ide: false }),
          ),
        );
        ids.push(...batch.map((c) => c.id));
      }
      cleanups.push(async () => {
        for (let i = 0; i < ids.length; i += 20) {
          await Promise.all(
            ids
              .slice(i, i + 20)
              .map((id) => client.containers.remove(id, { force: true }).catch(() => undefined)),
          );
        }
      });
      for (;;) {
        const running = (await client.containers.list()).filter((c) => c.state === 'running').length;
        if (running >= IDLE) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const allUp = ms(started);
      const monitors = await Promise.all(
        ids.map(async (id) =>
          memoryOf(Number(await readFile(`/run/lxr/executor/${id}/monitor.pid`, 'utf8'))),
        ),
      );
      const avg = (key: 'rss' | 'pss' | 'private') =>
        monitors.reduce((s, m) => s + m[key], 0) / monitors.length;
      rows.push(
        {
          name: `${IDLE} idle containers up (created 10 at a time)`,
          result: `${(allUp / 1000).toFixed(1)} s`,
        },
        {
          name: 'lxr-monitor per container: PSS (host memory it costs)',
          result: `${avg('pss').toFixed(0)} KiB`,
          goal: '≤ 1 MiB',
          met: avg('pss') <= 1024,
          notes: `RSS ${avg('rss').toFixed(0)} KiB (shared libc pages counted whole), private ${avg('private').toFixed(0)} KiB`,
        },
        {
          name: "podman's conmon per container, for comparison",
          result: `PSS ${conmon.pss} KiB`,
          notes: `RSS ${conmon.rss} KiB, private ${conmon.private} KiB`,
        },
      );
      return rows;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup: ${error}`));
    }
  },
};
