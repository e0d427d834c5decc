import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '@lxr/events';
import { containerView, relaunchDelayMs, wantsIde } from './container-view.js';

const id = 'a'.repeat(64);
const event = (type: string, data: object = {}) =>
  ({ type, data: { containerId: id, ...data }, metadata: {} }) as unknown as RecordedEvent;
const requested = (ide = true, node = 'n1') =>
  event('ContainerRequested', { name: 'dev', node, ide, image: 'busybox' });

describe('containerView / wantsIde', () => {
  it('wants the IDE while an IDE container runs on this node', () => {
    const view = containerView([requested(), event('ContainerStarted', { attempt: 1, pid: 42 })]);
    assert.deepEqual(view, {
      name: 'dev',
      node: 'n1',
      ide: true,
      runningAttempt: 1,
      pid: 42,
      removed: false,
    });
    assert.equal(wantsIde(view, 'n1'), true);
    assert.equal(wantsIde(view, 'n2'), false, 'another node');
  });

  it('does not want it before the start, after an exit or failure, after removal, or without the IDE', () => {
    assert.equal(wantsIde(containerView([requested()]), 'n1'), false);
    const exited = [
      requested(),
      event('ContainerStarted', { attempt: 1 }),
      event('ContainerExited', { attempt: 1 }),
    ];
    assert.equal(wantsIde(containerView(exited), 'n1'), false);
    assert.equal(wantsIde(containerView([requested(), event('ContainerFailed')]), 'n1'), false);
    const removed = containerView([
      requested(),
      event('ContainerStarted', { attempt: 1 }),
      event('ContainerRemoved'),
    ]);
    assert.equal(removed?.removed, true);
    assert.equal(wantsIde(removed, 'n1'), false);
    assert.equal(
      wantsIde(containerView([requested(false), event('ContainerStarted', { attempt: 1 })]), 'n1'),
      false,
    );
    assert.equal(wantsIde(containerView([]), 'n1'), false, 'no ContainerRequested');
  });

  it('follows restarts: the running attempt is the last start', () => {
    const view = containerView([
      requested(),
      event('ContainerStarted', { attempt: 1 }),
      event('ContainerExited', { attempt: 1 }),
      event('ContainerStarted', { attempt: 2 }),
    ]);
    assert.equal(view?.runningAttempt, 2);
  });
});

describe('relaunchDelayMs', () => {
  it('starts at once, then backs off from 0.5 s, doubling, to at most 30 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(relaunchDelayMs), [0, 500, 1000, 2000, 4000]);
    assert.equal(relaunchDelayMs(20), 30_000);
  });
});
