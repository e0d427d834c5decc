import type { ContainerRequested, PortBinding, RecordedEvent } from '@lxr/events';
import type { ContainerView } from './containers.read-model.js';

/** Event types the containers read model reads; the rest of the log passes it by. */
export const CONTAINER_PROJECTION_EVENTS = [
  'ContainerRequested',
  'ContainerRemoved',
  'NetworkReady',
  'NetworkReleased',
  'ContainerStarted',
  'ContainerExited',
  'ContainerFailed',
] as const;

/**
 * The containers read model as a pure fold over one row: the row after `event`, `null` when
 * the row goes away, `undefined` when the event does not touch it. Both the PostgreSQL projection
 * and the in-memory read model apply exactly this, so they cannot drift apart.
 */
export function projectContainer(
  current: ContainerView | undefined,
  event: RecordedEvent,
): ContainerView | null | undefined {
  switch (event.type) {
    case 'ContainerRequested':
      return requestedView(event, current);
    case 'ContainerRemoved':
      // Removed containers leave the model, as they leave `docker ps -a`.
      return null;
    case 'NetworkReady':
    case 'NetworkReleased': {
      // A network event after the removal must not bring the row back.
      if (!current) return undefined;
      const ready =
        event.type === 'NetworkReady'
          ? (event.data as { ip: string; netns: string; ports: PortBinding[] })
          : undefined;
      const { position, timestamp } = event.metadata;
      return {
        ...current,
        ip: ready?.ip ?? null,
        netns: ready?.netns ?? null,
        ports: ready?.ports ?? current.ports,
        updatedAt: timestamp,
        position,
      };
    }
    case 'ContainerStarted':
    case 'ContainerExited':
    case 'ContainerFailed':
      return current && lifecycleView(current, event);
    default:
      return undefined;
  }
}

/** The executor's facts: running with a pid, exited with a code, or failed. */
function lifecycleView(current: ContainerView, event: RecordedEvent): ContainerView {
  const { position, timestamp } = event.metadata;
  const next = { ...current, updatedAt: timestamp, position };
  if (event.type === 'ContainerStarted') {
    return { ...next, state: 'running', pid: (event.data as { pid: number }).pid, exitCode: null };
  }
  if (event.type === 'ContainerExited') {
    return { ...next, state: 'exited', pid: null, exitCode: (event.data as { code: number }).code };
  }
  return { ...next, state: 'failed', pid: null };
}

/**
 * The row a recorded `ContainerRequested` makes, keeping what later events filled in on `current`.
 * Also what a create answers with, without waiting for the read model to catch up.
 */
export function requestedView(requested: RecordedEvent, current?: ContainerView): ContainerView {
  const data = requested.data as ContainerRequested['data'];
  const { position, timestamp } = requested.metadata;
  return {
    id: data.containerId,
    name: data.name,
    image: data.image,
    node: data.node,
    state: 'requested',
    command: data.command ?? null,
    env: data.env,
    labels: data.labels,
    ide: data.ide,
    resources: data.resources,
    createdAt: current?.createdAt ?? timestamp,
    updatedAt: timestamp,
    pid: current?.pid ?? null,
    exitCode: current?.exitCode ?? null,
    ports: current?.ports ?? data.ports ?? [],
    ip: current?.ip ?? null,
    netns: current?.netns ?? null,
    position,
  };
}

/** The container id an event is about, if it is one the projection reads. */
export function containerIdOf(event: RecordedEvent): string | undefined {
  const data = event.data as { containerId?: unknown } | null;
  return typeof data?.containerId === 'string' ? data.containerId : undefined;
}
