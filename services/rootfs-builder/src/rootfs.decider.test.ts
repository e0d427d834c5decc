import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventData } from '@lxr/events';
import { decide, evolve, initialRootfsState, nextStep, type RootfsState } from './rootfs.decider.js';

const prepared: EventData<'RootfsPrepared'> = {
  containerId: 'c1',
  node: 'n1',
  rootfsPath: '/var/lib/lxr/rootfs/c1/m',
  mounts: [],
};
const failed: EventData<'RootfsFailed'> = {
  containerId: 'c1',
  node: 'n1',
  code: 'ROOTFS_LAYER_UNSAFE_PATH',
  message: 'no',
};
const here = { requestedHere: true, removed: false };
const noDir = { hasDir: false, mounted: false };

describe('rootfs decider', () => {
  it('prepares a container requested here that has no outcome yet', () => {
    assert.equal(nextStep(initialRootfsState, here, noDir), 'prepare');
  });

  it('ignores containers of other nodes, and tears down what it has of them', () => {
    const elsewhere = { requestedHere: false, removed: false };
    assert.equal(nextStep(initialRootfsState, elsewhere, noDir), 'nothing');
    assert.equal(nextStep(initialRootfsState, elsewhere, { hasDir: true, mounted: true }), 'tear-down');
  });

  it('tears down a removed container once, whatever its outcome was', () => {
    const removed = { requestedHere: true, removed: true };
    const state = evolve(initialRootfsState, { type: 'RootfsPrepared', data: prepared });
    assert.equal(nextStep(state, removed, { hasDir: true, mounted: true }), 'tear-down');
    assert.equal(nextStep(state, removed, noDir), 'nothing');
  });

  it('mounts a prepared overlay again after a reboot, and leaves a mounted one alone', () => {
    const state = evolve(initialRootfsState, { type: 'RootfsPrepared', data: prepared });
    assert.equal(nextStep(state, here, { hasDir: true, mounted: false }), 'remount');
    assert.equal(nextStep(state, here, { hasDir: true, mounted: true }), 'nothing');
  });

  it('keeps nothing of a failed container', () => {
    const state = evolve(initialRootfsState, { type: 'RootfsFailed', data: failed });
    assert.equal(nextStep(state, here, { hasDir: true, mounted: false }), 'tear-down');
    assert.equal(nextStep(state, here, noDir), 'nothing');
  });

  it('records one outcome: a second is a no-op', () => {
    const events = decide({ type: 'RecordPrepared', data: prepared }, initialRootfsState);
    assert.deepEqual(events, [{ type: 'RootfsPrepared', data: prepared }]);
    const state = events.reduce<RootfsState>(evolve, initialRootfsState);
    assert.deepEqual(state, { status: 'prepared', rootfsPath: prepared.rootfsPath });
    assert.deepEqual(decide({ type: 'RecordFailed', data: failed }, state), []);
  });

  it('cuts a failure message to what the event allows', () => {
    const [event] = decide(
      { type: 'RecordFailed', data: { ...failed, message: 'x'.repeat(10_000) } },
      initialRootfsState,
    );
    assert.equal((event!.data as EventData<'RootfsFailed'>).message.length, 8192);
  });
});
