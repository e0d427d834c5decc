import type { ProjectionRunner } from '@lxr/event-store';
import { type Kysely, sql } from 'kysely';
import { toView } from './containers.projection.js';
import { type ContainersReadModel, FINAL_STATES } from './containers.read-model.js';
import type { GatewayDatabase } from './containers.table.js';

/** Escapes LIKE's wildcards so user text matches literally. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The containers read model in PostgreSQL. `catchUp` runs the projection runner (which must hold
 * `containersProjection`) so a write just made is visible to the next read.
 */
export function createPostgresContainersReadModel(
  db: Kysely<GatewayDatabase>,
  runner: ProjectionRunner,
): ContainersReadModel {
  const table = 'api_gateway.containers' as const;
  return {
    catchUp: () => runner.catchUp(),
    async list(filter = {}) {
      let q = db.selectFrom(table).selectAll();
      if (!filter.all) q = q.where('state', 'not in', [...FINAL_STATES]);
      if (filter.name !== undefined) q = q.where('name', 'like', `%${likeLiteral(filter.name)}%`);
      if (filter.image !== undefined) q = q.where('image', '=', filter.image);
      if (filter.node !== undefined) q = q.where('node', '=', filter.node);
      if (filter.state !== undefined) q = q.where('state', '=', filter.state);
      for (const { key, value } of filter.labels ?? []) {
        q =
          value === undefined
            ? q.where(sql<boolean>`labels ? ${key}`)
            : q.where(sql<boolean>`labels @> ${JSON.stringify({ [key]: value })}::jsonb`);
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('last_position', 'desc').execute();
      return rows.map(toView);
    },
    async lookup(ref) {
      const exact = await db
        .selectFrom(table)
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .execute();
      const byId = exact.find((r) => r.id === ref) ?? exact.find((r) => r.name === ref);
      if (byId) return [toView(byId)];
      if (!/^[0-9a-f]+$/.test(ref)) return [];
      const rows = await db.selectFrom(table).selectAll().where('id', 'like', `${ref}%`).limit(20).execute();
      return rows.map(toView);
    },
  };
}
