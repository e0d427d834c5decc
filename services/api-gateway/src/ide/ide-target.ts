import type { EventStore } from '@lxr/event-store';
import { type EventData, ideStream } from '@lxr/events';
import { ErrorCode, GatewayError } from '../errors.js';
import { type ContainersReadModel, resolveContainer } from '../read-model/containers.read-model.js';

/** Where a container's IDE answers: code-server's socket on this node. */
export interface IdeTarget {
  readonly containerId: string;
  readonly name: string;
  readonly socketPath: string;
}

/**
 * Finds the IDE of a container by name (or id) from the read model and the container's `ide-<id>`
 * stream: ready when its last event is `IdeReady`. Answers are kept for `ttlMs`, since a page of
 * the IDE loads a hundred assets at once; {@link forget} drops one when its socket stops answering.
 */
export class IdeTargets {
  readonly #cache = new Map<string, { target: IdeTarget; expires: number }>();

  constructor(
    private readonly deps: {
      readonly store: EventStore;
      readonly readModel: ContainersReadModel;
      readonly ttlMs?: number;
      readonly now?: () => number;
    },
  ) {}

  async resolve(ref: string): Promise<IdeTarget> {
    const now = (this.deps.now ?? Date.now)();
    const cached = this.#cache.get(ref);
    if (cached && cached.expires > now) return cached.target;
    const container = await resolveContainer(this.deps.readModel, ref);
    if (!container.ide) {
      throw new GatewayError(
        ErrorCode.IdeDisabled,
        `container ${container.name} was created without the IDE`,
      );
    }
    const events = await this.deps.store.readStream(ideStream(container.id));
    const last = events.at(-1);
    if (last?.type !== 'IdeReady') {
      const failed = events.findLast((e) => e.type === 'IdeFailed')?.data as
        | EventData<'IdeFailed'>
        | undefined;
      const why =
        container.state !== 'running'
          ? `container ${container.name} is ${container.state}; start it with \`lxr start ${container.name}\``
          : `the IDE of ${container.name} is starting${failed ? ` (last attempt failed: ${failed.code}: ${failed.message})` : ''}`;
      throw new GatewayError(ErrorCode.IdeNotReady, why, { headers: { 'retry-after': '2' } });
    }
    const data = last.data as EventData<'IdeReady'>;
    const target = { containerId: container.id, name: container.name, socketPath: data.socketPath };
    this.#cache.set(ref, { target, expires: now + (this.deps.ttlMs ?? 2_000) });
    return target;
  }

  forget(ref: string): void {
    this.#cache.delete(ref);
  }
}
