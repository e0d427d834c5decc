import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decide,
  evolve,
  initialPullState,
  isFinished,
  type PullEvent,
  type PullState,
} from './pull.decider.js';

const subject = {
  pullId: 'a'.repeat(64),
  reference: 'docker.io/library/busybox:latest',
  node: 'n1',
  containerId: 'a'.repeat(64),
};
const digest = `sha256:${'b'.repeat(64)}`;
const pulled = {
  ...subject,
  digest,
  configDigest: `sha256:${'c'.repeat(64)}`,
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [],
  config: {},
  size: 0,
  cached: false,
};
const given = (events: PullEvent[]): PullState => events.reduce(evolve, initialPullState);

test('a new pull records progress, then its outcome', () => {
  const progress = decide(
    { type: 'ReportProgress', subject, layers: [{ digest, size: 10, done: 5 }] },
    initialPullState,
  );
  assert.equal(progress[0]?.type, 'ImagePullProgress');
  const state = given(progress);
  assert.equal(state.status, 'pulling');
  const done = decide({ type: 'CompletePull', pulled }, state);
  assert.deepEqual(done, [{ type: 'ImagePulled', data: pulled }]);
  assert.ok(isFinished(given([...progress, ...done])));
});

test('after an outcome, a redelivered request records nothing', () => {
  const state = given([{ type: 'ImagePulled', data: pulled }]);
  assert.deepEqual(decide({ type: 'CompletePull', pulled }, state), []);
  assert.deepEqual(
    decide({ type: 'FailPull', subject, reason: 'network', code: 'OCI_NETWORK', message: 'x' }, state),
    [],
  );
  assert.deepEqual(decide({ type: 'ReportProgress', subject, layers: [] }, state), []);
});

test('a failure carries its reason and code and ends the pull', () => {
  const events = decide(
    {
      type: 'FailPull',
      subject,
      reason: 'digest-mismatch',
      code: 'OCI_DIGEST_MISMATCH',
      message: 'm'.repeat(5000),
    },
    initialPullState,
  );
  assert.equal(events[0]?.type, 'ImagePullFailed');
  assert.equal(events[0]?.type === 'ImagePullFailed' && events[0].data.message.length, 4096);
  assert.deepEqual(given(events), { status: 'failed', reason: 'digest-mismatch' });
});

test('a resolved pull is pulling; resolving after the outcome records nothing', () => {
  const resolved = { ...subject, digest, layers: [] };
  const events = decide({ type: 'ResolvePull', resolved }, initialPullState);
  assert.deepEqual(events, [{ type: 'ImagePullResolved', data: resolved }]);
  assert.equal(given(events).status, 'pulling');
  assert.deepEqual(
    decide({ type: 'ResolvePull', resolved }, given([{ type: 'ImagePulled', data: pulled }])),
    [],
  );
});
