import type {
  ContainerEvent,
  ContainerNameEvent,
  ContainerNameReleased,
  ContainerNameReserved,
  ContainerRemoved,
  ContainerRequested,
} from '@lxr/events';
import { ErrorCode, GatewayError } from '../errors.js';

/** What a `ContainerRequested` records, i.e. the container as asked for. */
export type ContainerRequest = ContainerRequested['data'];

/** A container stream folded: nothing yet, asked for, or gone. */
export type ContainerState =
  | { readonly status: 'absent' }
  | { readonly status: 'requested'; readonly request: ContainerRequest }
  | { readonly status: 'removed'; readonly request: ContainerRequest };

/** A `container-name-<name>` stream folded: who holds the name, if anyone. */
export type NameState =
  | { readonly status: 'free' }
  | { readonly status: 'reserved'; readonly containerId: string };

/** A node agent as the node directory sees it when the command is built. */
export interface NodeCandidate {
  readonly name: string;
  readonly alive: boolean;
}

/** The user's part of a create: everything but the id, the chosen node and the digest. */
export type ContainerSpec = Omit<ContainerRequest, 'containerId' | 'node' | 'requestDigest'>;

export interface CreateContainer {
  readonly type: 'CreateContainer';
  readonly containerId: string;
  readonly spec: ContainerSpec;
  /** The node the caller asked for, if any. */
  readonly requestedNode?: string | undefined;
  /** Every node the directory knows, looked up by the handler. */
  readonly nodes: readonly NodeCandidate[];
  /** Set when the request carried an Idempotency-Key (see `request-digest.ts`). */
  readonly requestDigest?: string | undefined;
}

export interface RemoveContainer {
  readonly type: 'RemoveContainer';
  readonly containerId: string;
  /** `docker rm -v`: its anonymous volumes go too. */
  readonly volumes?: boolean;
}

export type ContainerCommand = CreateContainer | RemoveContainer;

/** The events the gateway decides: a container's and its name's. */
export type ContainerDecidedEvent = ContainerEvent | ContainerNameEvent;

/** What a decision is taken against: the container's stream and the stream of the name involved. */
export interface ContainerDecisionState {
  readonly container: ContainerState;
  readonly name: NameState;
}

export const initialContainerState: ContainerState = { status: 'absent' };
export const initialNameState: NameState = { status: 'free' };

/**
 * Decides a command against the state of the container's stream and of the name's stream.
 * Returns no events for a replay (the same idempotent create again); throws a
 * {@link GatewayError} when the command cannot be carried out.
 */
export function decide(command: ContainerCommand, state: ContainerDecisionState): ContainerDecidedEvent[] {
  switch (command.type) {
    case 'CreateContainer':
      return decideCreate(command, state);
    case 'RemoveContainer':
      return decideRemove(command, state);
    default: {
      const _never: never = command;
      throw new Error(`unknown command ${JSON.stringify(_never)}`);
    }
  }
}

function decideCreate(
  command: CreateContainer,
  { container, name }: ContainerDecisionState,
): ContainerDecidedEvent[] {
  const { containerId, spec } = command;
  if (container.status === 'requested') {
    // The id exists only when an Idempotency-Key derived it: a retry of the same request is a replay.
    if (container.request.requestDigest !== command.requestDigest) {
      throw new GatewayError(
        ErrorCode.IdempotencyKeyMismatch,
        `the Idempotency-Key was already used for container ${container.request.name} (${containerId}) with a different request; use a new key`,
      );
    }
    return [];
  }
  if (container.status === 'removed') {
    throw new GatewayError(
      ErrorCode.IdempotencyKeyUsed,
      `container ${container.request.name} (${containerId}), created with this Idempotency-Key, has been removed; use a new key`,
    );
  }
  if (name.status === 'reserved' && name.containerId !== containerId) {
    throw new GatewayError(
      ErrorCode.ContainerNameTaken,
      `the container name "${spec.name}" is already in use by container ${name.containerId}; remove that container or choose another name`,
      { errors: [{ pointer: '/name', field: 'name', in: 'body', message: 'name already in use' }] },
    );
  }
  const node = chooseNode(command);
  const request: ContainerRequest = {
    ...spec,
    containerId,
    node,
    ...(command.requestDigest === undefined ? {} : { requestDigest: command.requestDigest }),
  };
  return [
    { type: 'ContainerNameReserved', data: { containerId, name: spec.name } },
    { type: 'ContainerRequested', data: request },
  ];
}

function chooseNode({ requestedNode, nodes, containerId }: CreateContainer): string {
  const alive = nodes.filter((n) => n.alive).map((n) => n.name);
  if (requestedNode !== undefined) {
    if (alive.includes(requestedNode)) return requestedNode;
    if (!nodes.some((n) => n.name === requestedNode)) {
      throw new GatewayError(
        ErrorCode.UnknownNode,
        `no node agent named "${requestedNode}" has ever reported; known nodes: ${list(nodes.map((n) => n.name))}`,
        { errors: [{ pointer: '/node', field: 'node', in: 'body', message: 'unknown node' }] },
      );
    }
    throw new GatewayError(
      ErrorCode.NodeNotAlive,
      `the node agent on "${requestedNode}" is not running; start it, or choose one of: ${list(alive)}`,
    );
  }
  if (alive.length === 0) {
    throw new GatewayError(
      ErrorCode.NoNodeAvailable,
      'no node agent is running (no executor heartbeats in lxr_nodes), so nothing can run the container; start one with `lxr up`',
    );
  }
  // Spread containers over nodes without state: the id is random (or a hash), so its first
  // bytes are uniform, and the same id always lands on the same node.
  const sorted = [...alive].sort();
  return sorted[Number.parseInt(containerId.slice(0, 8), 16) % sorted.length]!;
}

function decideRemove(
  command: RemoveContainer,
  { container, name }: ContainerDecisionState,
): ContainerDecidedEvent[] {
  if (container.status !== 'requested') {
    throw new GatewayError(ErrorCode.ContainerNotFound, `no such container: ${command.containerId}`);
  }
  const data = { containerId: command.containerId, name: container.request.name };
  const removed: ContainerRemoved = {
    type: 'ContainerRemoved',
    data: { ...data, ...(command.volumes ? { volumes: true } : {}) },
  };
  // The name is released only if this container still holds it, which it always should.
  if (name.status === 'reserved' && name.containerId === command.containerId) {
    const released: ContainerNameReleased = { type: 'ContainerNameReleased', data };
    return [removed, released];
  }
  return [removed];
}

/** Folds one container event into the container's state. */
export function evolve(state: ContainerState, event: ContainerEvent): ContainerState {
  switch (event.type) {
    case 'ContainerRequested':
      return { status: 'requested', request: event.data };
    case 'ContainerRemoved':
      return state.status === 'absent' ? state : { status: 'removed', request: state.request };
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** Folds one name event into the name's state. */
export function evolveName(state: NameState, event: ContainerNameEvent): NameState {
  switch (event.type) {
    case 'ContainerNameReserved':
      return { status: 'reserved', containerId: event.data.containerId };
    case 'ContainerNameReleased':
      return state.status === 'reserved' && state.containerId === event.data.containerId
        ? { status: 'free' }
        : state;
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** True for the events that belong in a `container-name-*` stream. */
export function isNameEvent(
  event: ContainerDecidedEvent,
): event is ContainerNameReserved | ContainerNameReleased {
  return event.type === 'ContainerNameReserved' || event.type === 'ContainerNameReleased';
}

function list(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}
