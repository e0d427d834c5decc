import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventData, RecordedEvent } from '@lxr/events';
import { VolumeError, VolumeErrorCode } from './errors.js';
import { decide, evolve, initialVolumesState, type VolumesState } from './volume.decider.js';

const created: EventData<'VolumeCreated'> = {
  node: 'n1',
  name: 'data',
  mountpoint: '/var/lib/lxr/volumes/data/_data',
  anonymous: false,
  labels: { team: 'a' },
};

function recorded<T extends 'VolumeCreated' | 'VolumeRemoved'>(
  type: T,
  data: EventData<T>,
  version: number,
): RecordedEvent<T, EventData<T>> {
  return {
    type,
    schemaVersion: 1,
    data,
    metadata: {
      eventId: `e${version}`,
      stream: 'volume-node-n1',
      streamVersion: version,
      position: version,
      correlationId: data.name,
      causationId: null,
      timestamp: '2026-11-29T08:00:00.000Z',
    },
  } as RecordedEvent<T, EventData<T>>;
}

const withData: VolumesState = evolve(initialVolumesState, recorded('VolumeCreated', created, 1));

describe('volume decider', () => {
  it('given no volume, creating one records VolumeCreated; given it, nothing', () => {
    assert.deepEqual(decide({ type: 'CreateVolume', volume: created }, initialVolumesState), [
      { type: 'VolumeCreated', data: created },
    ]);
    assert.deepEqual(decide({ type: 'CreateVolume', volume: { ...created, labels: {} } }, withData), []);
  });

  it('evolves created and removed volumes, keeping when it was created', () => {
    assert.deepEqual(withData.get('data'), {
      name: 'data',
      mountpoint: created.mountpoint,
      anonymous: false,
      labels: { team: 'a' },
      createdAt: '2026-11-29T08:00:00.000Z',
    });
    const gone = evolve(
      withData,
      recorded('VolumeRemoved', { node: 'n1', name: 'data', reclaimedBytes: 3 }, 2),
    );
    assert.equal(gone.has('data'), false);
    assert.equal(withData.has('data'), true, 'evolve does not change the state it was given');
  });

  it('removes an unused volume', () => {
    assert.deepEqual(
      decide({ type: 'RemoveVolume', node: 'n1', name: 'data', users: [], reclaimedBytes: 7 }, withData),
      [{ type: 'VolumeRemoved', data: { node: 'n1', name: 'data', reclaimedBytes: 7 } }],
    );
  });

  it('refuses to remove a volume in use, naming a container, and a missing one', () => {
    assert.throws(
      () =>
        decide(
          {
            type: 'RemoveVolume',
            node: 'n1',
            name: 'data',
            users: ['a'.repeat(64), 'b'.repeat(64)],
            reclaimedBytes: 0,
          },
          withData,
        ),
      (e: unknown) =>
        e instanceof VolumeError &&
        e.code === VolumeErrorCode.InUse &&
        e.message ===
          'volume "data" is in use by container aaaaaaaaaaaa and 1 more: remove the container first (lxr rm)',
    );
    assert.throws(
      () =>
        decide({ type: 'RemoveVolume', node: 'n1', name: 'nope', users: [], reclaimedBytes: 0 }, withData),
      (e: unknown) =>
        e instanceof VolumeError &&
        e.code === VolumeErrorCode.NotFound &&
        /"nope" on node n1/.test(e.message),
    );
  });
});
