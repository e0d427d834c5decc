import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.js';

test('parseDuration reads compose durations and bare seconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(3), 3000);
  assert.equal(parseDuration('3'), 3000);
  for (const bad of ['', 'ten', '10x', '10s5', '-1s', 's']) assert.equal(parseDuration(bad), undefined, bad);
  assert.equal(parseDuration(-1), undefined);
});
