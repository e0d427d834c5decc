import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSignal } from './signal.js';

test('signal: a notify before the wait is kept; clear forgets it', async () => {
  const signal = createSignal();
  signal.notify();
  const started = Date.now();
  await signal.wait(5_000);
  assert.ok(Date.now() - started < 1_000);
  signal.notify();
  signal.clear();
  const t0 = Date.now();
  await signal.wait(50);
  assert.ok(Date.now() - t0 >= 40, 'cleared notification does not wake');
});

test('signal: notify wakes a waiter at once, and only once', async () => {
  const signal = createSignal();
  const t0 = Date.now();
  const waiting = signal.wait(5_000);
  setTimeout(() => signal.notify(), 10);
  await waiting;
  assert.ok(Date.now() - t0 < 1_000);
  const t1 = Date.now();
  await signal.wait(30);
  assert.ok(Date.now() - t1 >= 20, 'the notification was consumed by the first wait');
});
