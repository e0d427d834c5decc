import type { EventBus } from '@lxr/bus';
import type { EventStore } from '@lxr/event-store';
import {
  containerStream,
  type EventData,
  type IdeEvent,
  ideStream,
  type LxrRecordedEvent,
  type RecordedEvent,
  rootfsStream,
} from '@lxr/events';
import { KeyedLock, type Logger } from '@lxr/service-kit';
import { containerView, wantsIde } from './domain/container-view.js';
import { type Adoptable, IdeSupervisor } from './ide-supervisor.js';

export interface IdeLauncherDeps {
  readonly store: EventStore;
  readonly bus: EventBus;
  readonly node: string;
  readonly logger: Logger;
  /** How long code-server may take to answer after its launch. */
  readonly readyTimeoutMs: number;
  /** How often a running code-server's process is checked. */
  readonly watchIntervalMs: number;
}

/**
 * The ide-launcher of one node: every container event only pokes its container; {@link reconcile}
 * reads the container's stream and starts or stops that container's {@link IdeSupervisor}. So
 * redelivery, restarts of the container and restarts of the launcher all converge.
 */
export class IdeLauncher {
  readonly #deps: IdeLauncherDeps;
  readonly #supervisors = new Map<string, { attempt: number; supervisor: IdeSupervisor }>();
  readonly #queues = new KeyedLock();
  #closed = false;

  constructor(deps: IdeLauncherDeps) {
    this.#deps = deps;
  }

  /** The bus handler. */
  async handle(event: LxrRecordedEvent): Promise<void> {
    switch (event.type) {
      case 'ContainerStarted':
      case 'ContainerExited':
      case 'ContainerFailed':
        if (event.data.node === this.#deps.node) await this.reconcile(event.data.containerId);
        return;
      case 'ContainerRemoved':
        if (this.#supervisors.has(event.data.containerId)) await this.reconcile(event.data.containerId);
        return;
      default:
        return;
    }
  }

  /**
   * On start-up: every IDE this node had running (its last event `IdeStarting` or `IdeReady`) is
   * reconciled, adopting a code-server that still answers instead of launching a second one.
   */
  async adopt(): Promise<void> {
    const last = new Map<string, RecordedEvent>();
    let after = 0;
    for (;;) {
      const page = await this.#deps.store.readAll({ after, limit: 1000 });
      if (page.length === 0) break;
      for (const event of page) {
        if (event.type.startsWith('Ide') && (event.data as { node?: string }).node === this.#deps.node) {
          last.set((event.data as { containerId: string }).containerId, event);
        }
      }
      after = page.at(-1)!.metadata.position;
    }
    for (const [id, event] of last) {
      const type = event.type as IdeEvent['type'];
      if (type === 'IdeExited') continue;
      const ready = type === 'IdeReady' ? (event.data as EventData<'IdeReady'>) : undefined;
      await this.reconcile(
        id,
        ready && { pid: ready.pid, socketPath: ready.socketPath, attempt: ready.attempt },
      );
    }
  }

  /** Serialises work per container; resolves when this container's reconcile is done. */
  reconcile(id: string, adopt?: Adoptable): Promise<void> {
    return this.#queues.run(id, () => this.#reconcile(id, adopt));
  }

  async #reconcile(id: string, adopt: Adoptable | undefined): Promise<void> {
    if (this.#closed) return;
    const view = containerView(await this.#deps.store.readStream(containerStream(id)));
    const current = this.#supervisors.get(id);
    if (view && wantsIde(view, this.#deps.node)) {
      const attempt = view.runningAttempt!;
      if (current?.attempt === attempt) return;
      // A restarted container: the old code-server went with the old start.
      if (current) await current.supervisor.stop('container-stopped');
      const rootfs = (await this.#deps.store.readStream(rootfsStream(id))).findLast(
        (e) => e.type === 'RootfsPrepared',
      );
      if (!rootfs) return;
      const data = rootfs.data as EventData<'RootfsPrepared'>;
      const supervisor = new IdeSupervisor(
        this.#deps,
        {
          containerId: id,
          name: view.name,
          rootfsPath: data.rootfsPath,
          mountDestinations: data.mounts.map((m) => m.destination),
          initPid: view.pid!,
        },
        adopt,
      );
      this.#supervisors.set(id, { attempt, supervisor });
      return;
    }
    if (current) {
      this.#supervisors.delete(id);
      await current.supervisor.stop(view?.removed ? 'removed' : 'container-stopped');
    } else if (adopt || view?.removed || (view && view.runningAttempt === null)) {
      // Found on start-up, but the container is gone or stopped: record that the IDE is too.
      await this.#recordGone(id, view?.removed ? 'removed' : 'container-stopped');
    }
  }

  async #recordGone(id: string, reason: 'removed' | 'container-stopped'): Promise<void> {
    const stream = ideStream(id);
    const events = await this.#deps.store.readStream(stream);
    const lastEvent = events.at(-1);
    if (!lastEvent || lastEvent.type === 'IdeExited') return;
    const attempt = Math.max(1, events.filter((e) => e.type === 'IdeStarting').length);
    await this.#deps.store.append(stream, events.length, [
      {
        type: 'IdeExited',
        correlationId: id,
        data: { containerId: id, node: this.#deps.node, reason, attempt },
      },
    ]);
  }

  /** Stops watching; code-server keeps running in its containers for the next launcher to adopt. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#supervisors.values()].map((s) => s.supervisor.stop('shutdown')));
    this.#supervisors.clear();
  }
}
