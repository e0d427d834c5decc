// The executor's decisions, given/when/then over the pure fold: no I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventData } from '@lxr/events';
import {
  evolveLife,
  initialLife,
  type Life,
  type LifeEvent,
  type LocalState,
  nextAction,
  policyRestarts,
} from './container-life.js';

const ID = 'a'.repeat(64);
const requested = (extra: Partial<EventData<'ContainerRequested'>> = {}): LifeEvent => ({
  type: 'ContainerRequested',
  data: {
    containerId: ID,
    name: 'web',
    image: 'busybox',
    node: 'n1',
    env: [],
    labels: {},
    ide: false,
    resources: {},
    ...extra,
  },
});
const started = (attempt: number): LifeEvent => ({
  type: 'ContainerStarted',
  data: {
    containerId: ID,
    node: 'n1',
    pid: 100 + attempt,
    netnsPath: '/run/netns/x',
    cgroup: `/lxr/${ID}`,
    startedAt: '2026-11-29T00:00:00Z',
    attempt,
  },
});
const exited = (attempt: number, code: number): LifeEvent => ({
  type: 'ContainerExited',
  data: {
    containerId: ID,
    node: 'n1',
    code,
    signal: null,
    oomKilled: false,
    finishedAt: '2026-11-29T00:00:01Z',
    attempt,
  },
});
const given = (...events: LifeEvent[]): Life => events.reduce((life, e) => evolveLife(life, e), initialLife);
const absent: LocalState = { status: 'absent' };
const running = (attempt: number): LocalState => ({ status: 'running', attempt, pid: 100 + attempt });
const exitedLocally = (attempt: number, code: number): LocalState => ({
  status: 'exited',
  attempt,
  code,
  signal: null,
  oomKilled: false,
  finishedAt: '2026-11-29T00:00:01Z',
});

describe('nextAction', () => {
  it('starts a requested container once its inputs are ready, not before', () => {
    const life = given(requested());
    assert.deepEqual(nextAction(life, absent, false), { type: 'none' });
    assert.deepEqual(nextAction(life, absent, true), { type: 'start', attempt: 1 });
  });

  it('records an exit the log has not heard of, once', () => {
    const life = given(requested(), started(1));
    assert.equal(nextAction(life, exitedLocally(1, 3), true).type, 'record-exit');
    const after = evolveLife(life, exited(1, 3));
    assert.equal(nextAction(after, exitedLocally(1, 3), true).type, 'reap');
    assert.equal(nextAction(after, absent, true).type, 'none');
  });

  it('records a start made just before the executor went down', () => {
    assert.deepEqual(nextAction(given(requested()), running(1), true), {
      type: 'record-start',
      attempt: 1,
      pid: 101,
    });
  });

  it('reports a container the log thinks running but the node lost', () => {
    assert.equal(nextAction(given(requested(), started(1)), absent, true).type, 'record-lost');
  });

  it('stops on request, and a stopped container stays stopped whatever its policy', () => {
    const life = given(requested({ restartPolicy: { name: 'always' } }), started(1), {
      type: 'ContainerStopRequested',
      data: { containerId: ID, timeoutSeconds: 3 },
    });
    assert.deepEqual(nextAction(life, running(1), true), { type: 'stop', timeoutSeconds: 3 });
    const after = evolveLife(life, exited(1, 143));
    assert.equal(after.startOwed, false);
  });

  it('restart: stops, then starts the next attempt', () => {
    const life = given(requested(), started(1), {
      type: 'ContainerRestartRequested',
      data: { containerId: ID, timeoutSeconds: 1 },
    });
    assert.equal(nextAction(life, running(1), true).type, 'stop');
    const after = evolveLife(life, exited(1, 143));
    assert.equal(nextAction(after, exitedLocally(1, 143), true).type, 'reap');
    assert.deepEqual(nextAction(after, absent, true), { type: 'start', attempt: 2 });
  });

  it('--rm removes it after its exit, not while it runs', () => {
    const life = given(requested({ autoRemove: true }), started(1));
    assert.equal(nextAction(life, running(1), true).type, 'none');
    assert.equal(nextAction(evolveLife(life, exited(1, 0)), absent, true).type, 'auto-remove');
  });

  it('a removed container is cleaned up whatever its state', () => {
    const life = given(requested(), started(1), {
      type: 'ContainerRemoved',
      data: { containerId: ID, name: 'web' },
    });
    assert.equal(nextAction(life, running(1), true).type, 'cleanup');
  });
});

describe('restart policies', () => {
  it('follow docker: no, always, unless-stopped, on-failure[:N]', () => {
    assert.equal(policyRestarts(undefined, 1, 0), false);
    assert.equal(policyRestarts({ name: 'always' }, 0, 9), true);
    assert.equal(policyRestarts({ name: 'unless-stopped' }, 0, 9), true);
    assert.equal(policyRestarts({ name: 'on-failure' }, 0, 0), false);
    assert.equal(policyRestarts({ name: 'on-failure', maximumRetryCount: 2 }, 1, 1), true);
    assert.equal(policyRestarts({ name: 'on-failure', maximumRetryCount: 2 }, 1, 2), false);
  });

  it('on-failure:1 restarts once, then leaves it exited', () => {
    let life = given(requested({ restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } }), started(1));
    life = evolveLife(life, exited(1, 1));
    assert.equal(life.startOwed, true);
    life = evolveLife(evolveLife(life, started(2)), exited(2, 1));
    assert.equal(life.startOwed, false);
  });
});
