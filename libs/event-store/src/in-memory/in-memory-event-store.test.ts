import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedEvent } from '@lxr/events';
import { EventStoreClosedError } from '../errors.js';
import { eventStoreContract } from '../event-store.contract.js';
import { createInMemoryEventStore } from './in-memory-event-store.js';

eventStoreContract('in-memory', async () => createInMemoryEventStore());

test('in-memory: onAppend sees each append once, in order', async () => {
  const store = createInMemoryEventStore();
  const seen: RecordedEvent[][] = [];
  const off = store.onAppend((events) => seen.push([...events]));
  const a = await store.append('s-1', 'no-stream', [{ type: 'A', data: 1, correlationId: 'c' }]);
  const b = await store.appendMany([
    { stream: 's-2', expectedVersion: 'any', events: [{ type: 'B', data: 2, correlationId: 'c' }] },
    { stream: 's-3', expectedVersion: 'any', events: [{ type: 'C', data: 3, correlationId: 'c' }] },
  ]);
  await store.append('s-1', 1, []);
  off();
  await store.append('s-1', 1, [{ type: 'D', data: 4, correlationId: 'c' }]);
  assert.deepEqual(seen, [a.events, b.flatMap((r) => r.events)]);
});

test('in-memory: a closed store refuses work', async () => {
  const store = createInMemoryEventStore();
  await store.close();
  await assert.rejects(store.readAll(), EventStoreClosedError);
  await assert.rejects(
    store.append('s', 'any', []),
    (e: unknown) => e instanceof EventStoreClosedError && e.code === 'EVENT_STORE_CLOSED',
  );
});
