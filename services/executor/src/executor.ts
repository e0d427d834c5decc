import { constants as osConstants } from 'node:os';
import type { EventStore } from '@lxr/event-store';
import { WrongExpectedVersionError } from '@lxr/event-store';
import {
  containerNameStream,
  containerStream,
  type EventData,
  type ImageRuntimeConfig,
  imagePullStream,
  type LxrRecordedEvent,
  type NewEvent,
  networkStream,
  type RecordedEvent,
  type RootfsMount,
  rootfsStream,
} from '@lxr/events';
import type { Logger } from '@lxr/service-kit';
import { commandLine, containerEnv } from './domain/command-line.js';
import {
  type Action,
  evolveLife,
  initialLife,
  type Life,
  type LifeEvent,
  nextAction,
} from './domain/container-life.js';
import { ExecutorError, ExecutorErrorCode } from './errors.js';
import { writeBundle } from './runtime/bundle.js';
import { cgroupPath } from './runtime/node-layout.js';
import type { NodeRuntime, NodeState } from './runtime/node-runtime.js';
import { resolveUser } from './runtime/users.js';

const LIFE_TYPES = new Set<string>([
  'ContainerRequested',
  'ContainerRemoved',
  'ContainerStarted',
  'ContainerExited',
  'ContainerFailed',
  'ContainerStartRequested',
  'ContainerStopRequested',
  'ContainerKillRequested',
  'ContainerRestartRequested',
]);

/** An input that can no longer come: its service recorded a failure. */
export interface UpstreamFailure {
  readonly failed: true;
  readonly code: string;
  readonly message: string;
}

/** What a start needs besides the request: the root filesystem, the network and the image's config. */
export interface Readiness {
  readonly rootfsPath: string;
  readonly mounts: readonly RootfsMount[];
  readonly network: EventData<'NetworkReady'>;
  readonly image: ImageRuntimeConfig;
}

export interface ExecutorDeps {
  readonly store: EventStore;
  readonly runtime: NodeRuntime;
  readonly node: string;
  /** The runtime-spec `linux.seccomp` object every container gets. */
  readonly seccomp: unknown;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** Delay before the restart policy restarts a container again: 100 ms, doubling, at most 10 s. */
export const restartDelayMs = (restarts: number): number =>
  restarts <= 1 ? 0 : Math.min(100 * 2 ** (restarts - 2), 10_000);

const last = <T extends string>(events: readonly RecordedEvent[], type: T) =>
  events.findLast((e) => e.type === type);

/**
 * The executor's core: brings each container of this node to what its event log asks for. Every
 * event and every exit only "pokes" a container; {@link reconcile} then reads the log and the
 * node, and takes one step after another (`nextAction`) until nothing is left to do. So redelivery,
 * a crash at any point and a restart all end in the same place.
 */
export class Executor {
  readonly #deps: ExecutorDeps;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #stopTimers = new Map<string, NodeJS.Timeout>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
  }

  get runtime(): NodeRuntime {
    return this.#deps.runtime;
  }

  /** The bus handler: which container an event concerns, and a reconcile of it. */
  async handle(event: LxrRecordedEvent): Promise<void> {
    switch (event.type) {
      case 'ContainerRequested':
      case 'NetworkReady':
      case 'RootfsPrepared':
        if (event.data.node === this.#deps.node) await this.reconcile(event.data.containerId);
        return;
      case 'NetworkFailed':
      case 'RootfsFailed':
        if (event.data.node === this.#deps.node) await this.reconcile(event.data.containerId);
        return;
      case 'ImagePulled':
      case 'ImagePullFailed':
        if (event.data.node === this.#deps.node && event.data.containerId) {
          await this.reconcile(event.data.containerId);
        }
        return;
      case 'ContainerRemoved':
      case 'ContainerStartRequested':
      case 'ContainerStopRequested':
      case 'ContainerRestartRequested':
        await this.reconcile(event.data.containerId);
        return;
      case 'ContainerKillRequested':
        await this.kill(event.data.containerId, event.data.signal);
        return;
      default:
        return;
    }
  }

  /** Re-adopts the containers whose monitors kept running while the executor was away. */
  async adopt(): Promise<void> {
    for (const id of await this.#deps.runtime.known()) {
      this.#deps.runtime.watch(id, () => void this.reconcile(id).catch(() => {}));
      await this.reconcile(id);
    }
  }

  /** Serialises work per container; resolves when this container's reconcile is done. */
  reconcile(id: string): Promise<void> {
    const previous = this.#queues.get(id) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() => this.#reconcile(id))
      .catch((error) => {
        this.#deps.logger.error({ err: error, containerId: id }, 'reconcile failed');
        throw error;
      });
    const tracked = next.finally(() => {
      if (this.#queues.get(id) === tracked) this.#queues.delete(id);
    });
    this.#queues.set(
      id,
      tracked.catch(() => {}),
    );
    return next;
  }

  /** `lxr kill`: delivers the signal to the container's init, which forwards it. */
  async kill(id: string, signal: string): Promise<void> {
    const state = await this.#deps.runtime.state(id);
    if (state.status !== 'running') return;
    this.#deps.runtime.signal(state.pid, parseSignal(signal));
  }

  /** Stops timers; containers keep running under their monitors. */
  close(): void {
    this.#closed = true;
    for (const timer of [...this.#stopTimers.values(), ...this.#retryTimers.values()]) clearTimeout(timer);
    this.#deps.runtime.unwatchAll();
  }

  async loadLife(id: string): Promise<Life> {
    const events = await this.#deps.store.readStream(containerStream(id));
    let life = initialLife;
    for (const event of events) {
      if (LIFE_TYPES.has(event.type)) {
        life = evolveLife(life, event as unknown as LifeEvent, event.metadata.streamVersion);
      } else {
        life = { ...life, version: event.metadata.streamVersion };
      }
    }
    return life;
  }

  /**
   * The inputs of a start, once all are there; the failure of one that will never come (the pull,
   * the network or the root filesystem failed); undefined while one is still on its way.
   */
  async readiness(id: string): Promise<Readiness | UpstreamFailure | undefined> {
    const { store } = this.#deps;
    const [network, rootfs, image] = await Promise.all([
      store.readStream(networkStream(id)),
      store.readStream(rootfsStream(id)),
      store.readStream(imagePullStream(id)),
    ]);
    const failure = (
      event: RecordedEvent | undefined,
      type: string,
      what: string,
    ): UpstreamFailure | undefined => {
      if (event?.type !== type) return undefined;
      const data = event.data as { code: string; message: string };
      return {
        failed: true,
        code: /^[A-Z][A-Z0-9_]{2,63}$/.test(data.code) ? data.code : 'UPSTREAM_FAILED',
        message: `${what}: ${data.message}`,
      };
    };
    const failed =
      failure(image.at(-1), 'ImagePullFailed', 'the image could not be pulled') ??
      failure(network.at(-1), 'NetworkFailed', 'the network could not be set up') ??
      failure(rootfs.at(-1), 'RootfsFailed', 'the root filesystem could not be prepared');
    if (failed) return failed;
    const ready = last(network, 'NetworkReady');
    const networkEnd = network.at(-1);
    if (!ready || networkEnd?.type === 'NetworkReleased' || networkEnd?.type === 'NetworkFailed')
      return undefined;
    const prepared = last(rootfs, 'RootfsPrepared');
    if (!prepared || rootfs.at(-1)?.type !== 'RootfsPrepared') return undefined;
    const pulled = last(image, 'ImagePulled');
    if (!pulled) return undefined;
    const rootfsData = prepared.data as EventData<'RootfsPrepared'>;
    return {
      rootfsPath: rootfsData.rootfsPath,
      mounts: rootfsData.mounts,
      network: ready.data as EventData<'NetworkReady'>,
      image: (pulled.data as EventData<'ImagePulled'>).config,
    };
  }

  async #reconcile(id: string): Promise<void> {
    const { runtime, node } = this.#deps;
    // Read once, then carried forward: each append is checked against the version it was read
    // at, so another writer in between shows up as WrongExpectedVersionError, and a re-read.
    let life: Life | undefined;
    for (let step = 0; step < 20 && !this.#closed; step++) {
      life ??= await this.loadLife(id);
      if (life.spec && life.spec.node !== node) return;
      if (life.removed) {
        this.#clearTimers(id);
        await runtime.destroy(id);
        return;
      }
      const state = await runtime.state(id);
      const action = decide(life, state);
      if (action.type === 'none') {
        if (state.status === 'running') runtime.watch(id, () => void this.reconcile(id).catch(() => {}));
        return;
      }
      this.#deps.logger.debug({ containerId: id, action: action.type }, 'reconcile step');
      try {
        const after = await this.#perform(id, life, action);
        if (after === 'done') return;
        life = after;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        life = undefined;
      }
    }
  }

  /** Takes one step: 'done', or the life after it (what the step appended, folded in). */
  async #perform(id: string, life: Life, action: Action): Promise<Life | 'done'> {
    const { runtime, node } = this.#deps;
    switch (action.type) {
      case 'none':
        return 'done';
      case 'cleanup':
      case 'reap':
        await runtime.destroy(id, { keepData: action.type === 'reap' });
        return life;
      case 'record-exit':
        this.#clearTimers(id);
        return this.#append(id, life, {
          type: 'ContainerExited',
          data: {
            containerId: id,
            node,
            code: Math.min(255, Math.max(0, action.exit.code)),
            signal: action.exit.signal,
            oomKilled: action.exit.oomKilled,
            finishedAt: action.exit.finishedAt,
            attempt: action.exit.attempt,
          },
        });
      case 'record-lost':
        await runtime.destroy(id, { keepData: true });
        return this.#fail(
          id,
          life,
          ExecutorErrorCode.ContainerLost,
          'the container and its monitor vanished',
        );
      case 'record-start': {
        const ready = await this.readiness(id);
        return this.#append(
          id,
          life,
          this.#started(id, action.attempt, action.pid, ready && !('failed' in ready) ? ready : undefined),
        );
      }
      case 'stop':
        this.#stop(id, action.timeoutSeconds);
        return 'done';
      case 'auto-remove':
        return this.#autoRemove(id, life);
      case 'start':
        return this.#start(id, life, action.attempt);
      default: {
        const _never: never = action;
        return _never;
      }
    }
  }

  async #start(id: string, life: Life, attempt: number): Promise<Life | 'done'> {
    const ready = await this.readiness(id);
    if (!ready) return 'done';
    if ('failed' in ready) return this.#fail(id, life, ready.code, ready.message);
    const now = this.#deps.now?.() ?? new Date();
    if (life.exited && life.policyRestarts > 0) {
      const due = Date.parse(life.exited.finishedAt) + restartDelayMs(life.policyRestarts);
      if (due > now.getTime()) {
        this.#retryLater(id, due - now.getTime());
        return 'done';
      }
    }
    const spec = life.spec!;
    const { runtime } = this.#deps;
    const paths = runtime.paths(id);
    try {
      const args = commandLine(spec, ready.image);
      if (args.length === 0) {
        throw new ExecutorError(
          ExecutorErrorCode.NoCommand,
          `no command specified: the image has no Entrypoint or Cmd; give one, e.g. \`lxr run ${spec.image} sh\``,
        );
      }
      const user = await resolveUser(ready.rootfsPath, spec.user ?? ready.image.user);
      const hostname = spec.hostname ?? spec.name;
      await writeBundle(paths, {
        process: {
          args,
          env: containerEnv(spec, ready.image, hostname, user.home),
          cwd: spec.workingDir ?? (ready.image.workingDir || '/'),
          user,
          tty: spec.tty ?? false,
        },
        rootfsPath: ready.rootfsPath,
        hostname,
        netnsPath: ready.network.netnsPath,
        hostsPath: ready.network.hostsPath,
        resolvConfPath: ready.network.resolvConfPath,
        initBinary: runtime.layout.init,
        mounts: ready.mounts,
        resources: spec.resources,
        cgroupsPath: cgroupPath(id),
        seccomp: this.#deps.seccomp,
      });
      const pid = await runtime.launch(id, {
        attempt,
        tty: spec.tty ?? false,
        openStdin: spec.openStdin ?? false,
      });
      runtime.watch(id, () => void this.reconcile(id).catch(() => {}));
      return await this.#append(id, life, this.#started(id, attempt, pid, ready));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) throw error;
      if (!(error instanceof ExecutorError)) throw error;
      this.#deps.logger.warn({ containerId: id, code: error.code, err: error }, 'container failed to start');
      return this.#fail(id, life, error.code, error.message);
    }
  }

  #started(id: string, attempt: number, pid: number, ready: Readiness | undefined): NewEvent {
    return {
      type: 'ContainerStarted',
      correlationId: id,
      data: {
        containerId: id,
        node: this.#deps.node,
        pid,
        netnsPath: ready?.network.netnsPath ?? '/proc/self/ns/net',
        cgroup: cgroupPath(id),
        startedAt: (this.#deps.now?.() ?? new Date()).toISOString(),
        attempt,
      },
    };
  }

  async #fail(id: string, life: Life, code: string, message: string): Promise<Life> {
    return this.#append(id, life, {
      type: 'ContainerFailed',
      data: { containerId: id, node: this.#deps.node, code, message: message.slice(0, 8000) },
    });
  }

  /** Appends one event at the version `life` was read at; the life with it folded in. */
  async #append(id: string, life: Life, event: Omit<NewEvent, 'correlationId'>): Promise<Life> {
    await this.#deps.store.append(containerStream(id), life.version, [{ ...event, correlationId: id }]);
    return evolveLife(life, event as unknown as LifeEvent);
  }

  /** `--rm`: the container and its name go once it has exited for good. */
  async #autoRemove(id: string, life: Life): Promise<Life> {
    const spec = life.spec!;
    const nameStream = containerNameStream(spec.name);
    const nameEvents = await this.#deps.store.readStream(nameStream);
    const holder = nameEvents.at(-1);
    const holds =
      holder?.type === 'ContainerNameReserved' && (holder.data as { containerId: string }).containerId === id;
    const data = { containerId: id, name: spec.name };
    await this.#deps.store.appendMany([
      {
        stream: containerStream(id),
        expectedVersion: life.version,
        events: [{ type: 'ContainerRemoved', data, correlationId: id }],
      },
      ...(holds
        ? [
            {
              stream: nameStream,
              expectedVersion: holder.metadata.streamVersion,
              events: [{ type: 'ContainerNameReleased', data, correlationId: id }],
            },
          ]
        : []),
    ]);
    return evolveLife(life, { type: 'ContainerRemoved', data });
  }

  /** SIGTERM now, SIGKILL after the timeout unless the container exited first. */
  #stop(id: string, timeoutSeconds: number): void {
    if (this.#stopTimers.has(id)) return;
    void this.#deps.runtime.state(id).then((state) => {
      if (state.status !== 'running') return;
      this.#deps.runtime.signal(state.pid, timeoutSeconds === 0 ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => {
        this.#stopTimers.delete(id);
        void this.#deps.runtime.state(id).then((now) => {
          if (now.status === 'running' && now.attempt === state.attempt)
            this.#deps.runtime.signal(now.pid, 'SIGKILL');
        });
      }, timeoutSeconds * 1000);
      timer.unref();
      this.#stopTimers.set(id, timer);
    });
  }

  #retryLater(id: string, ms: number): void {
    if (this.#retryTimers.has(id)) return;
    const timer = setTimeout(() => {
      this.#retryTimers.delete(id);
      void this.reconcile(id).catch(() => {});
    }, ms);
    timer.unref();
    this.#retryTimers.set(id, timer);
  }

  #clearTimers(id: string): void {
    clearTimeout(this.#stopTimers.get(id));
    this.#stopTimers.delete(id);
    clearTimeout(this.#retryTimers.get(id));
    this.#retryTimers.delete(id);
  }
}

/** A node-state-aware `nextAction`: a lost container is reaped, or recorded lost while the log says running. */
function decide(life: Life, state: NodeState): Action {
  if (state.status === 'lost') return life.running ? { type: 'record-lost' } : { type: 'reap' };
  // Readiness is checked by the start itself; `true` lets the decider say a start is owed.
  return nextAction(life, state, true);
}

/** `SIGTERM`, `TERM` or `15` as a signal number. */
export function parseSignal(signal: string): number {
  if (/^[0-9]+$/.test(signal)) return Number(signal);
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof osConstants.signals;
  const number = osConstants.signals[name];
  if (number === undefined) {
    throw new ExecutorError(ExecutorErrorCode.BadRequest, `unknown signal ${signal}`);
  }
  return number;
}
