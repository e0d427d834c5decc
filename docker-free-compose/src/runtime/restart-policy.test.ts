import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeExit, restartDelay, shouldRestart } from './restart-policy.js';

test('restartDelay doubles from initial and is capped at max', () => {
  const backoff = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 100].map((n) => restartDelay(backoff, n)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
});

test('shouldRestart follows the policy', () => {
  const ok = { code: 0, signal: null };
  const crash = { code: 1, signal: null };
  const killed = { code: null, signal: 'SIGKILL' as const };
  assert.equal(shouldRestart('always', ok), true);
  assert.equal(shouldRestart('on-failure', ok), false);
  assert.equal(shouldRestart('on-failure', crash), true);
  assert.equal(shouldRestart('on-failure', killed), true);
  assert.equal(shouldRestart('no', crash), false);
});

test('describeExit says how a process ended', () => {
  assert.equal(describeExit({ code: 3, signal: null }), 'exited with code 3');
  assert.equal(describeExit({ code: null, signal: 'SIGSEGV' }), 'killed by SIGSEGV');
  assert.equal(
    describeExit({ code: null, signal: null, error: new Error('spawn x ENOENT') }),
    'could not start: spawn x ENOENT',
  );
});
