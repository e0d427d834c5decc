import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerEvent, ContainerNameEvent } from '@lxr/events';
import { ErrorCode, GatewayError } from '../errors.js';
import {
  type ContainerCommand,
  type ContainerDecidedEvent,
  type ContainerSpec,
  type CreateContainer,
  decide,
  evolve,
  evolveName,
  initialContainerState,
  initialNameState,
  isNameEvent,
} from './container.decider.js';

const id = 'a'.repeat(64);
const otherId = 'b'.repeat(64);
const spec: ContainerSpec = { name: 'goCon', image: 'golang', env: [], labels: {}, ide: true, resources: {} };
const create = (overrides: Partial<CreateContainer> = {}): CreateContainer => ({
  type: 'CreateContainer',
  containerId: id,
  spec,
  nodes: [{ name: 'node-1', alive: true }],
  ...overrides,
});

/** given: past events of the container and name streams; when: a command; then: events or an error. */
function given(events: readonly ContainerDecidedEvent[]) {
  let container = initialContainerState;
  let name = initialNameState;
  for (const event of events) {
    if (isNameEvent(event)) name = evolveName(name, event);
    else container = evolve(container, event);
  }
  return {
    when(command: ContainerCommand) {
      return {
        thenEvents: (expected: readonly ContainerDecidedEvent[]) =>
          assert.deepEqual(decide(command, { container, name }), expected),
        thenThrows: (code: ErrorCode) =>
          assert.throws(
            () => decide(command, { container, name }),
            (e: unknown) => e instanceof GatewayError && e.code === code,
          ),
      };
    },
  };
}

const requested = (containerId = id, extra: object = {}): ContainerDecidedEvent => ({
  type: 'ContainerRequested',
  data: { ...spec, containerId, node: 'node-1', ...extra },
});
const reserved = (containerId = id): ContainerDecidedEvent => ({
  type: 'ContainerNameReserved',
  data: { containerId, name: 'goCon' },
});
const released = (containerId = id): ContainerDecidedEvent => ({
  type: 'ContainerNameReleased',
  data: { containerId, name: 'goCon' },
});
const removed = (containerId = id): ContainerDecidedEvent => ({
  type: 'ContainerRemoved',
  data: { containerId, name: 'goCon' },
});

describe('container decider: create', () => {
  it('reserves the name and requests the container on the live node', () => {
    given([]).when(create()).thenEvents([reserved(), requested()]);
  });

  it('records the request digest when the request was idempotent', () => {
    given([])
      .when(create({ requestDigest: 'd'.repeat(64) }))
      .thenEvents([reserved(), requested(id, { requestDigest: 'd'.repeat(64) })]);
  });

  it('refuses a name held by another container', () => {
    given([reserved(otherId)])
      .when(create())
      .thenThrows(ErrorCode.ContainerNameTaken);
  });

  it('takes a name that was released', () => {
    given([reserved(otherId), released(otherId)])
      .when(create())
      .thenEvents([reserved(), requested()]);
  });

  it('replays an idempotent create with the same digest as no events', () => {
    const digest = 'd'.repeat(64);
    given([reserved(), requested(id, { requestDigest: digest })])
      .when(create({ requestDigest: digest }))
      .thenEvents([]);
  });

  it('refuses the same idempotency key with another request', () => {
    given([reserved(), requested(id, { requestDigest: 'd'.repeat(64) })])
      .when(create({ requestDigest: 'e'.repeat(64) }))
      .thenThrows(ErrorCode.IdempotencyKeyMismatch);
  });

  it('refuses to recreate a container removed under the same idempotency key', () => {
    given([reserved(), requested(), removed(), released()])
      .when(create())
      .thenThrows(ErrorCode.IdempotencyKeyUsed);
  });

  it('fails with no node agent alive', () => {
    given([])
      .when(create({ nodes: [{ name: 'node-1', alive: false }] }))
      .thenThrows(ErrorCode.NoNodeAvailable);
    given([])
      .when(create({ nodes: [] }))
      .thenThrows(ErrorCode.NoNodeAvailable);
  });

  it('uses the requested node when it is alive', () => {
    const nodes = [
      { name: 'node-1', alive: true },
      { name: 'node-2', alive: true },
    ];
    const events = decide(create({ nodes, requestedNode: 'node-2' }), {
      container: initialContainerState,
      name: initialNameState,
    });
    assert.equal(events[1]?.type === 'ContainerRequested' && events[1].data.node, 'node-2');
  });

  it('refuses a requested node that is down or unknown', () => {
    given([])
      .when(create({ nodes: [{ name: 'node-1', alive: false }], requestedNode: 'node-1' }))
      .thenThrows(ErrorCode.NodeNotAlive);
    given([])
      .when(create({ requestedNode: 'nowhere' }))
      .thenThrows(ErrorCode.UnknownNode);
  });

  it('spreads containers over live nodes, the same id always on the same node', () => {
    const nodes = ['n1', 'n2', 'n3'].map((name) => ({ name, alive: true }));
    const chosen = new Set<string>();
    for (const first of ['00000000', '00000001', '00000002']) {
      const containerId = first + '0'.repeat(56);
      const decideNode = () => {
        const [, req] = decide(create({ containerId, nodes }), {
          container: initialContainerState,
          name: initialNameState,
        });
        return req?.type === 'ContainerRequested' ? req.data.node : '';
      };
      assert.equal(decideNode(), decideNode());
      chosen.add(decideNode());
    }
    assert.deepEqual([...chosen].sort(), ['n1', 'n2', 'n3']);
  });
});

describe('container decider: remove', () => {
  const remove: ContainerCommand = { type: 'RemoveContainer', containerId: id };

  it('removes the container and releases its name', () => {
    given([reserved(), requested()]).when(remove).thenEvents([removed(), released()]);
  });

  it('does not release a name the container no longer holds', () => {
    given([requested()]).when(remove).thenEvents([removed()]);
  });

  it('is not found when never created or already removed', () => {
    given([]).when(remove).thenThrows(ErrorCode.ContainerNotFound);
    given([reserved(), requested(), removed(), released()])
      .when(remove)
      .thenThrows(ErrorCode.ContainerNotFound);
  });
});

describe('container evolve', () => {
  it('folds a container to removed and a name back to free', () => {
    let state = evolve(initialContainerState, requested() as ContainerEvent);
    assert.equal(state.status, 'requested');
    state = evolve(state, removed() as ContainerEvent);
    assert.equal(state.status, 'removed');
    let name = evolveName(initialNameState, reserved() as ContainerNameEvent);
    name = evolveName(name, released(otherId) as ContainerNameEvent);
    assert.deepEqual(name, { status: 'reserved', containerId: id }, 'another container cannot release it');
    assert.deepEqual(evolveName(name, released() as ContainerNameEvent), { status: 'free' });
  });
});
