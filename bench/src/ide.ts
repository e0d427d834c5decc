/**
 * `lxr create` to a VS Code that answers: the whole stack (`lxr up` in a temp LXR_HOME, the image
 * cached on the node, the tools bundle of infra/setup.sh linked in), each run timed from the create
 * request until `/ide/<name>/` on the gateway answers from code-server.
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient, readToken } from '@lxr/client';
import { COMPOSE_PORT_VARIABLES } from '@lxr/docker-free-compose';
import { createPostgresEventStore } from '@lxr/event-store';
import { containerStream, type EventData, ideStream } from '@lxr/events';
import { testNetworkEnv } from '@lxr/network-allocator/testing';
import {
  busyboxApplets,
  busyboxRootfs,
  freePort,
  layerFrom,
  makeImage,
  pushImage,
  startRegistry,
} from '@lxr/testkit';
import { type BenchRow, type BenchSection, formatMs, quantile } from './bench.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repoRoot, 'libs/cli/dist/main.js');
const RUNS = Number(process.env['LXR_BENCH_IDE_RUNS'] ?? 10);
const TOOLS = process.env['LXR_TOOLS_DIR'] ?? '/var/lib/lxr/tools/current';

const summary = (xs: number[]) => `p50 ${formatMs(quantile(xs, 0.5))}, p90 ${formatMs(quantile(xs, 0.9))}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const ideBench: BenchSection = {
  id: 'ide',
  title: 'IDE: lxr create → VS Code answering through the gateway',
  setup:
    `\`lxr up\` (gateway, image-puller, rootfs-builder, network-allocator, executor, ide-launcher) in a temp LXR_HOME ` +
    `with the node's tools bundle linked in; a busybox image from a registry on loopback, pulled once before; ` +
    `${RUNS} development containers one after another, each removed after; "answering" is the first 302 from ` +
    'code-server on `/ide/<name>/` through the gateway (polled every 10 ms).',
  async run(log) {
    if (!existsSync(path.join(TOOLS, 'bin/code-server'))) {
      throw new Error(`no tools bundle at ${TOOLS}: run infra/setup.sh (or set LXR_TOOLS_DIR)`);
    }
    const rows: BenchRow[] = [];
    const cleanups: (() => Promise<unknown>)[] = [];
    const home = await mkdtemp(path.join(tmpdir(), 'lxr-bench-ide-'));
    await chmod(home, 0o755);
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    await mkdir(path.join(home, 'tools'));
    await symlink(realpathSync(TOOLS), path.join(home, 'tools', 'current'));
    const env: NodeJS.ProcessEnv = { ...process.env, LXR_HOME: home, LXR_NODE_NAME: 'bench-ide' };
    for (const name of COMPOSE_PORT_VARIABLES) env[name] = String(await freePort());
    Object.assign(env, await testNetworkEnv());
    delete env['LXR_TOKEN'];
    delete env['LXR_API_URL'];
    const lxr = (...args: string[]) => run(process.execPath, [cli, ...args], { env, timeout: 120_000 });
    try {
      const registry = await startRegistry();
      cleanups.push(() => registry.dispose());
      const layer = await layerFrom((dir) => busyboxRootfs(dir, busyboxApplets()), 'gzip');
      await pushImage(registry.host, 'bench/busybox', '1', makeImage([layer], { cmd: ['sleep', '100000'] }));
      const image = `${registry.host}/bench/busybox:1`;
      log('lxr up');
      await lxr('up');
      cleanups.push(() => lxr('down', '--purge').catch(() => undefined));
      const api = `http://127.0.0.1:${env['LXR_API_PORT']}`;
      const token = await readToken(home, env);
      const client = createClient({ url: api, token });
      const password = (await readFile(path.join(home, 'secrets', 'postgres-password'), 'utf8')).trim();
      const store = createPostgresEventStore({
        connectionString: `postgres://lxr:${password}@127.0.0.1:${env['LXR_PG_PORT']}/lxr`,
      });
      cleanups.push(() => store.close());
      await lxr('pull', image);

      /** Polls the IDE through the gateway until code-server itself answers. */
      const answering = async (name: string) => {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const response = await fetch(`${api}/ide/${name}/`, {
            redirect: 'manual',
            headers: { authorization: `Bearer ${token}` },
          });
          await response.arrayBuffer();
          if (response.status === 302 || response.status === 200) return;
          if (Date.now() > deadline)
            throw new Error(`the IDE of ${name} did not answer (last ${response.status})`);
          await sleep(10);
        }
      };

      const total: number[] = [];
      const toStarted: number[] = [];
      const toReady: number[] = [];
      const codeServer: number[] = [];
      log(`${RUNS} development containers`);
      for (let i = 0; i < RUNS; i++) {
        const name = `bench-ide-${i}`;
        const start = performance.now();
        const created = await client.containers.create({ image, name });
        await answering(name);
        total.push(performance.now() - start);
        const [container, ide] = await Promise.all([
          store.readStream(containerStream(created.id)),
          store.readStream(ideStream(created.id)),
        ]);
        const at = (events: typeof container, type: string) =>
          Date.parse(events.find((e) => e.type === type)!.metadata.timestamp);
        toStarted.push(at(container, 'ContainerStarted') - at(container, 'ContainerRequested'));
        toReady.push(at(ide, 'IdeReady') - at(container, 'ContainerStarted'));
        codeServer.push((ide.find((e) => e.type === 'IdeReady')!.data as EventData<'IdeReady'>).startMs);
        await client.containers.remove(created.id, { force: true });
      }
      const cliRuns: number[] = [];
      for (let i = 0; i < Math.min(RUNS, 5); i++) {
        const name = `bench-ide-cli-${i}`;
        const start = performance.now();
        await lxr('create', '--name', name, image);
        await answering(name);
        cliRuns.push(performance.now() - start);
        await lxr('rm', '-f', name);
      }
      rows.push(
        {
          name: 'create → IDE answering on /ide/<name>/ (API client)',
          result: summary(total),
          goal: '≤ 3 s p50',
          met: quantile(total, 0.5) <= 3_000,
        },
        { name: '… ContainerRequested → ContainerStarted', result: summary(toStarted) },
        { name: '… ContainerStarted → IdeReady', result: summary(toReady) },
        {
          name: '… of which code-server (exec → first answer on its socket)',
          result: summary(codeServer),
        },
        {
          name: 'lxr create NAME IMAGE → IDE answering (CLI, end to end)',
          result: summary(cliRuns),
          notes: "includes the CLI's own start",
        },
      );
      return rows;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  },
};
