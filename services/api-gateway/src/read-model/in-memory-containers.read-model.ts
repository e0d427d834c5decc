import type { EventStore } from '@lxr/event-store';
import { containerIdOf, projectContainer } from './containers.projector.js';
import {
  type ContainerFilter,
  type ContainersReadModel,
  type ContainerView,
  FINAL_STATES,
} from './containers.read-model.js';

/**
 * The containers read model kept in process memory, folded from `store` on each `catchUp`. For
 * tests and single-process tools; the gateway's `main.ts` uses the PostgreSQL projection.
 */
export function createInMemoryContainersReadModel(store: EventStore): ContainersReadModel {
  const rows = new Map<string, ContainerView>();
  let cursor = 0;
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    for (;;) {
      const events = await store.readAll({ after: cursor, limit: 1000 });
      for (const event of events) {
        cursor = event.metadata.position;
        const id = containerIdOf(event);
        if (id === undefined) continue;
        const next = projectContainer(rows.get(id), event);
        if (next === null) rows.delete(id);
        else if (next !== undefined) rows.set(id, next);
      }
      if (events.length < 1000) return;
    }
  }

  return {
    async catchUp() {
      // Concurrent callers share one pass, then run another: each sees everything appended before it called.
      while (running) await running;
      running = drain().finally(() => {
        running = undefined;
      });
      await running;
    },
    async list(filter = {}) {
      return [...rows.values()]
        .filter((c) => matches(c, filter))
        .sort((a, b) =>
          a.createdAt === b.createdAt ? b.position - a.position : a.createdAt < b.createdAt ? 1 : -1,
        );
    },
    async lookup(ref) {
      const byId = rows.get(ref);
      if (byId) return [byId];
      const all = [...rows.values()];
      const byName = all.find((c) => c.name === ref);
      if (byName) return [byName];
      return /^[0-9a-f]+$/.test(ref) ? all.filter((c) => c.id.startsWith(ref)) : [];
    },
  };
}

function matches(c: ContainerView, f: ContainerFilter): boolean {
  if (!f.all && FINAL_STATES.includes(c.state)) return false;
  if (f.name !== undefined && !c.name.includes(f.name)) return false;
  if (f.image !== undefined && c.image !== f.image) return false;
  if (f.node !== undefined && c.node !== f.node) return false;
  if (f.state !== undefined && c.state !== f.state) return false;
  return (f.labels ?? []).every(({ key, value }) =>
    value === undefined ? Object.hasOwn(c.labels, key) : c.labels[key] === value,
  );
}
