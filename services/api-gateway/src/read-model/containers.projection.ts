import type { Projection } from '@lxr/event-store';
import type { Selectable, Transaction } from 'kysely';
import { CONTAINER_PROJECTION_EVENTS, containerIdOf, projectContainer } from './containers.projector.js';
import type { ContainerView } from './containers.read-model.js';
import type { ContainersTable, GatewayDatabase } from './containers.table.js';

/** A row as the API shows it. */
export function toView(row: Selectable<ContainersTable>): ContainerView {
  return {
    id: row.id,
    name: row.name,
    image: row.image,
    node: row.node,
    state: row.state,
    command: row.command,
    env: row.env,
    labels: row.labels,
    ide: row.ide,
    resources: row.resources,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    pid: row.pid,
    exitCode: row.exit_code,
    ports: row.ports,
    ip: row.ip,
    netns: row.netns,
    position: Number(row.last_position),
  };
}

function toRow(view: ContainerView) {
  return {
    id: view.id,
    name: view.name,
    image: view.image,
    node: view.node,
    state: view.state,
    command: JSON.stringify(view.command),
    env: JSON.stringify(view.env),
    labels: JSON.stringify(view.labels),
    ide: view.ide,
    resources: JSON.stringify(view.resources),
    created_at: view.createdAt,
    updated_at: view.updatedAt,
    pid: view.pid,
    exit_code: view.exitCode,
    ports: JSON.stringify(view.ports),
    ip: view.ip,
    netns: view.netns,
    last_position: view.position,
  };
}

/**
 * The `api_gateway.containers` table, fed by the event-store's projection runner. It applies
 * {@link projectContainer} to the row an event is about, so it and the in-memory read model agree.
 * Bump `version` when the table or the fold changes: the runner then rebuilds it from the log.
 */
export const containersProjection: Projection<GatewayDatabase> = {
  name: 'api-gateway.containers',
  version: 3,
  handles: CONTAINER_PROJECTION_EVENTS,
  async apply(trx: Transaction<GatewayDatabase>, event) {
    const id = containerIdOf(event);
    if (id === undefined) return;
    const row = await trx
      .selectFrom('api_gateway.containers')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    const next = projectContainer(row && toView(row), event);
    if (next === undefined) return;
    if (next === null) {
      await trx.deleteFrom('api_gateway.containers').where('id', '=', id).execute();
      return;
    }
    const values = toRow(next);
    await trx
      .insertInto('api_gateway.containers')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  },
  async reset(trx: Transaction<GatewayDatabase>) {
    await trx.deleteFrom('api_gateway.containers').execute();
  },
};
