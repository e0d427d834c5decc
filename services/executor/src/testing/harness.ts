import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectBus, type NatsBus } from '@lxr/bus';
import { createOutboxRelay, createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import {
  containerNameStream,
  containerStream,
  type EventData,
  type ExecRequest,
  executorStreamSubject,
  executorSubject,
  type ImageRuntimeConfig,
  imagePullStream,
  type LxrEvent,
  type NewEvent,
  networkStream,
  newContainerId,
  type RecordedEvent,
  type RootfsMount,
  rootfsStream,
  SessionFrame,
} from '@lxr/events';
import {
  busyboxApplets,
  busyboxRootfs,
  type ManagedProcess,
  nativeDir,
  startNats,
  startPostgres,
  startService,
  waitFor,
} from '@lxr/testkit';
import { cgroupDirs } from '../runtime/cgroups.js';
import { containerLeftovers } from './leftovers.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const run = promisify(execFile);

/** What a harness container is asked to be, on top of a busybox image. */
export interface ContainerOptions {
  readonly name?: string;
  readonly command?: string[];
  readonly entrypoint?: string[];
  readonly image?: ImageRuntimeConfig;
  readonly env?: string[];
  readonly user?: string;
  readonly workingDir?: string;
  readonly tty?: boolean;
  readonly openStdin?: boolean;
  readonly autoRemove?: boolean;
  readonly restartPolicy?: EventData<'ContainerRequested'>['restartPolicy'];
  readonly resources?: EventData<'ContainerRequested'>['resources'];
  /** The image-puller fails instead (ImagePullFailed with this code). */
  readonly pullFails?: string;
  /** A development container (`ContainerRequested.ide`). */
  readonly ide?: boolean;
  /** Extra mounts, as the rootfs-builder hands them over (`RootfsPrepared.mounts`). */
  readonly mounts?: RootfsMount[];
  /** The image's contents: a directory copied as the root filesystem instead of the busybox tree. */
  readonly rootfs?: string;
}

/** The outcome of an exec: output kept apart, the exit JSON. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: { exitCode?: number; signal?: string | null; error?: string };
}

/**
 * Real PostgreSQL, NATS, the outbox relay and the executor (`dist/main.js`, as root) with a runtime
 * of its own (`LXR_RUNTIME`, default lxr-runtime), plus what the rootfs-builder, network-allocator
 * and image-puller would provide: a busybox root filesystem, a network namespace with `lo` and a
 * dummy `eth0`, and the image's config, appended as their events. `dispose` removes everything.
 */
export interface ExecutorHarness {
  readonly node: string;
  readonly home: string;
  readonly runDir: string;
  readonly runtimeRoot: string;
  readonly runtime: string;
  readonly store: PostgresEventStore;
  readonly bus: NatsBus;
  /** The environment the executor runs with (NATS, PostgreSQL, node name, home), for other node agents. */
  readonly env: NodeJS.ProcessEnv;
  startExecutor(): Promise<ManagedProcess>;
  readonly executor: () => ManagedProcess | undefined;
  /** Requests a container and provides its rootfs, network and image; returns its id. */
  create(options?: ContainerOptions): Promise<string>;
  append(containerId: string, event: Omit<LxrEvent, 'correlationId'>): Promise<void>;
  events(containerId: string): Promise<readonly RecordedEvent[]>;
  /** Waits for the `nth` (1-based) event of `type` in the container's stream. */
  waitForEvent<T extends LxrEvent['type']>(
    containerId: string,
    type: T,
    options?: { nth?: number; timeoutMs?: number },
  ): Promise<EventData<T>>;
  /** The container's log as docker's json-file lines. */
  logs(containerId: string): Promise<{ stream: string; log: string }[]>;
  output(containerId: string): Promise<string>;
  /** Runs an exec session; `stdin` is sent at once, or once stdout matches `after`, then stdin is closed. */
  exec(
    containerId: string,
    request: Omit<ExecRequest, 'session' | 'containerId'>,
    stdin?: string | { readonly after: RegExp; readonly data: string },
  ): Promise<ExecResult>;
  /** What the node still holds of a container: processes, cgroup dirs, files, runtime state, netns users. */
  leftovers(containerId: string): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function startExecutorHarness(options: { runtime?: string } = {}): Promise<ExecutorHarness> {
  const tag = randomBytes(3).toString('hex');
  const node = `exec-${tag}`;
  const home = await mkdtemp(path.join(tmpdir(), 'lxr-exec-'));
  const runDir = `/run/lxr-t${tag}`;
  const runtimeRoot = `/run/lxr-t${tag}-rt`;
  const runtime = options.runtime ?? process.env['LXR_RUNTIME'] ?? path.join(nativeDir(), 'lxr-runtime');
  const netnsNames: string[] = [];
  const containers: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let executor: ManagedProcess | undefined;
  const dispose = async () => {
    await executor?.stop(5_000);
    // Whatever the tests left running: kill the containers (their monitors then exit).
    for (const id of containers) {
      const pid = Number(await readFile(path.join(runDir, id, 'pid'), 'utf8').catch(() => '0'));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await run(runtime, ['--root', runtimeRoot, 'delete', '--force', id]).catch(() => undefined);
      for (const dir of cgroupDirs(id))
        await rm(dir, { recursive: false, force: true }).catch(() => undefined);
      for (const dir of cgroupDirs(id)) await run('rmdir', [dir]).catch(() => undefined);
    }
    for (const name of netnsNames) await run('ip', ['netns', 'del', name]).catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(runDir, { recursive: true, force: true });
    await rm(runtimeRoot, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  };
  try {
    const [postgres, nats] = await Promise.all([startPostgres({ fsync: false }), startNats()]);
    cleanups.push(
      () => postgres.dispose(),
      () => nats.dispose(),
    );
    const store = createPostgresEventStore({ connectionString: postgres.url });
    await store.migrate();
    cleanups.push(() => store.close());
    const bus = await connectBus({ servers: nats.url, name: 'executor-harness' });
    await bus.ensureStreams();
    cleanups.push(() => bus.close());
    const relay = createOutboxRelay({
      connectionString: postgres.url,
      publish: (event, chaining) => bus.publish(event, chaining),
      pollIntervalMs: 200,
    });
    await relay.start();
    cleanups.push(() => relay.stop());

    // One image for every container: busybox with all its applets.
    const rootfsBase = path.join(home, 'rootfs-base');
    await busyboxRootfs(rootfsBase, busyboxApplets());
    for (const dir of ['proc', 'sys', 'dev', 'tmp', 'root', 'run', 'home/app']) {
      await mkdir(path.join(rootfsBase, dir), { recursive: true });
    }
    await writeFile(
      path.join(rootfsBase, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    await writeFile(
      path.join(rootfsBase, 'etc', 'group'),
      'root:x:0:\napp:x:1000:\nwheel:x:10:app\nnogroup:x:65534:\n',
    );

    const env = {
      ...process.env,
      LXR_HOME: home,
      LXR_NATS_URL: nats.url,
      LXR_DATABASE_URL: postgres.url,
      LXR_NODE_NAME: node,
      LXR_LOG_LEVEL: process.env['LXR_TEST_LOG_LEVEL'] ?? 'info',
      LXR_RUNTIME: runtime,
      LXR_RUNTIME_ROOT: runtimeRoot,
      LXR_EXECUTOR_RUN_DIR: runDir,
    };
    let executorCount = 0;
    const harness: ExecutorHarness = {
      node,
      home,
      runDir,
      runtimeRoot,
      runtime,
      store,
      bus,
      env,
      executor: () => executor,
      async startExecutor() {
        const logFile = path.join(home, `executor-${executorCount++}.log`);
        const proc = await startService(MAIN, logFile, env, 'the executor');
        executor = proc;
        return proc;
      },
      async create(o = {}) {
        const id = newContainerId();
        containers.push(id);
        const name = o.name ?? `c-${id.slice(0, 8)}`;
        const dir = path.join(home, 'containers', id);
        const rootfs = path.join(dir, 'rootfs');
        await mkdir(dir, { recursive: true });
        await run('cp', ['-a', o.rootfs ?? rootfsBase, rootfs]);
        const netns = `lxrt${tag}-${id.slice(0, 6)}`;
        netnsNames.push(netns);
        await run('ip', ['netns', 'add', netns]);
        // A veth whose host end stays down and unattached: the container has an eth0 that reaches nothing.
        const hostEnd = `lxv${tag}${(netnsNames.length % 1000).toString().padStart(3, '0')}`;
        await run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
        await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
        await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
        await run('ip', ['-n', netns, 'addr', 'add', '10.254.0.2/24', 'dev', 'eth0']);
        const hostsPath = path.join(dir, 'hosts');
        const resolvConfPath = path.join(dir, 'resolv.conf');
        await writeFile(hostsPath, `127.0.0.1\tlocalhost\n10.254.0.2\t${name}\n`);
        await writeFile(resolvConfPath, 'nameserver 10.254.0.1\n');
        const requested: EventData<'ContainerRequested'> = {
          containerId: id,
          name,
          image: 'busybox',
          node,
          env: o.env ?? [],
          labels: {},
          ide: o.ide ?? false,
          resources: o.resources ?? {},
          ...(o.command ? { command: o.command } : {}),
          ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}),
          ...(o.user ? { user: o.user } : {}),
          ...(o.workingDir ? { workingDir: o.workingDir } : {}),
          ...(o.tty ? { tty: true } : {}),
          ...(o.openStdin ? { openStdin: true } : {}),
          ...(o.autoRemove ? { autoRemove: true } : {}),
          ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
        };
        const reserved = { containerId: id, name };
        await store.appendMany([
          {
            stream: containerStream(id),
            expectedVersion: 'no-stream',
            events: [{ type: 'ContainerRequested', data: requested, correlationId: id }],
          },
          {
            stream: containerNameStream(name),
            expectedVersion: 'any',
            events: [{ type: 'ContainerNameReserved', data: reserved, correlationId: id }],
          },
        ]);
        const digest = `sha256:${'a'.repeat(64)}`;
        const append = (stream: string, event: NewEvent) => store.append(stream, 'any', [event]);
        const pull = { pullId: id, reference: 'docker.io/library/busybox:latest', node, containerId: id };
        if (o.pullFails) {
          await append(imagePullStream(id), {
            type: 'ImagePullFailed',
            correlationId: id,
            data: {
              ...pull,
              reason: 'not-found',
              code: o.pullFails,
              message: 'manifest unknown',
            },
          });
          return id;
        }
        await append(imagePullStream(id), {
          type: 'ImagePulled',
          correlationId: id,
          data: {
            ...pull,
            digest,
            configDigest: digest,
            platform: { os: 'linux', architecture: 'amd64' },
            layers: [],
            config: o.image ?? {
              cmd: ['sh'],
              env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
            },
            size: 0,
            cached: true,
          },
        });
        await append(networkStream(id), {
          type: 'NetworkReady',
          correlationId: id,
          data: {
            containerId: id,
            node,
            netns,
            netnsPath: `/run/netns/${netns}`,
            ip: '10.254.0.2',
            prefixLength: 24,
            gateway: '10.254.0.1',
            mac: '02:42:0a:fe:00:02',
            bridge: 'none',
            hostVeth: 'none',
            hostsPath,
            resolvConfPath,
            ports: [],
          },
        });
        await append(rootfsStream(id), {
          type: 'RootfsPrepared',
          correlationId: id,
          data: { containerId: id, node, rootfsPath: rootfs, mounts: o.mounts ?? [] },
        });
        return id;
      },
      async append(containerId, event) {
        await store.append(containerStream(containerId), 'any', [
          { ...event, correlationId: containerId } as NewEvent,
        ]);
      },
      events: (containerId) => store.readStream(containerStream(containerId)),
      async waitForEvent(containerId, type, o = {}) {
        let found: RecordedEvent | undefined;
        await waitFor(
          async () => {
            const events = await store.readStream(containerStream(containerId));
            found = events.filter((e) => e.type === type)[(o.nth ?? 1) - 1];
            const failed = events.find((e) => e.type === 'ContainerFailed');
            if (!found && failed && type !== 'ContainerFailed') {
              throw new Error(`expected ${type}, got ContainerFailed: ${JSON.stringify(failed.data)}`);
            }
            return found !== undefined;
          },
          `${type} of container ${containerId.slice(0, 12)}`,
          o.timeoutMs ?? 20_000,
        ).catch(async (error: Error) => {
          const log = executor ? await readFile(executor.logFile, 'utf8').catch(() => '') : '';
          const related = log
            .split('\n')
            .filter((l) => l.includes(containerId.slice(0, 12)) || /"level":(40|50|60)/.test(l));
          // Nothing about the container: what the executor was busy with says more.
          const shown = related.length > 0 ? related.slice(-20) : log.split('\n').slice(-30);
          throw new Error(`${error.message}; executor log:\n${shown.join('\n')}`);
        });
        return found!.data as never;
      },
      async logs(containerId) {
        const file = path.join(home, 'executor', 'containers', containerId, 'container.log');
        const text = await readFile(file, 'utf8').catch(() => '');
        return text
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { stream: string; log: string });
      },
      async output(containerId) {
        return (await harness.logs(containerId)).map((l) => l.log).join('');
      },
      async exec(containerId, request, stdin) {
        const session = randomBytes(8).toString('hex');
        const out = bus.connection.subscribe(executorStreamSubject(node, 'exec', session, 'out'));
        let stdout = '';
        let stderr = '';
        let exit: ExecResult['exit'] | undefined;
        const input = executorStreamSubject(node, 'exec', session, 'in');
        const send = (data: string) => {
          bus.connection.publish(
            input,
            Buffer.concat([Buffer.from([SessionFrame.Stdin]), Buffer.from(data)]),
          );
          bus.connection.publish(input, Buffer.from([SessionFrame.CloseStdin]));
        };
        let pending = typeof stdin === 'object' ? stdin : undefined;
        const done = (async () => {
          for await (const msg of out) {
            const type = msg.data[0];
            const payload = Buffer.from(msg.data.subarray(1)).toString('utf8');
            if (type === SessionFrame.Stdout) stdout += payload;
            if (pending?.after.test(stdout)) {
              send(pending.data);
              pending = undefined;
            } else if (type === SessionFrame.Stderr) stderr += payload;
            else if (type === SessionFrame.Exit) {
              exit = JSON.parse(payload) as ExecResult['exit'];
              out.unsubscribe();
            }
          }
        })();
        await bus.request(executorSubject(node, 'exec'), { ...request, session, containerId }, 10_000);
        if (typeof stdin === 'string') send(stdin);
        await Promise.race([
          done,
          new Promise((_, reject) => setTimeout(() => reject(new Error('exec timed out')), 20_000)),
        ]);
        return { stdout, stderr, exit: exit! };
      },
      leftovers: (containerId) => containerLeftovers({ home, runDir, runtimeRoot }, containerId),
      dispose,
    };
    return harness;
  } catch (error) {
    await dispose();
    throw error;
  }
}
