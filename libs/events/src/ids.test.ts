import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerIdForIdempotencyKey, newContainerId, shortId, uuidv7 } from './ids.js';

test('uuidv7 has version 7, the RFC variant and the time in its first 48 bits', () => {
  const now = Date.UTC(2026, 10, 29, 3, 0, 0);
  const id = uuidv7(now);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), now);
});

test('uuidv7 ids are unique and sort by time', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

test('container ids are 64 hex characters; an idempotency key always maps to the same one', () => {
  assert.match(newContainerId(), /^[0-9a-f]{64}$/);
  assert.equal(containerIdForIdempotencyKey('k1'), containerIdForIdempotencyKey('k1'));
  assert.notEqual(containerIdForIdempotencyKey('k1'), containerIdForIdempotencyKey('k2'));
  assert.equal(shortId('0123456789abcdef'), '0123456789ab');
});
