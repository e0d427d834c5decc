import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { type NewEvent, type RecordedEvent, uuidv7 } from '@lxr/events';
import {
  DuplicateEventIdError,
  EventStoreErrorCode,
  InvalidAppendError,
  UnknownPositionError,
  WrongExpectedVersionError,
} from './errors.js';
import type { EventStore, ExpectedVersion } from './event-store.js';

/**
 * The behaviour every {@link EventStore} implementation must have, as node:test tests. Each test
 * gets its own store from `createStore` (closed afterwards) and uses streams of its own, so stores
 * may share one database; `readAll` tests only look at what they appended after a marker event.
 *
 * @example
 * eventStoreContract('in-memory', async () => createInMemoryEventStore());
 */
export function eventStoreContract(name: string, createStore: () => Promise<EventStore>): void {
  describe(`EventStore contract: ${name}`, () => {
    const withStore = (title: string, fn: (store: EventStore) => Promise<void>) =>
      test(title, async (t) => {
        const store = await createStore();
        t.after(() => store.close());
        await fn(store);
      });

    withStore('appends to a new stream and reads it back', async (store) => {
      const stream = newStream();
      const result = await store.append(stream, 'no-stream', [event('A', 1), event('B', 2)]);
      assert.equal(result.stream, stream);
      assert.equal(result.streamVersion, 2);
      assert.deepEqual(
        result.events.map((e) => [e.type, e.data, e.metadata.streamVersion]),
        [
          ['A', { n: 1 }, 1],
          ['B', { n: 2 }, 2],
        ],
      );
      const read = await store.readStream(stream);
      assert.deepEqual(read, result.events);
      assert.equal(await store.streamVersion(stream), 2);
      assert.equal(await store.streamVersion(newStream()), 0);
      assert.deepEqual(await store.readStream(newStream()), []);
    });

    withStore('fills metadata and keeps what the writer gave', async (store) => {
      const stream = newStream();
      const eventId = uuidv7();
      const before = Date.now();
      const { events } = await store.append(stream, 'any', [
        {
          type: 'ContainerRemoved',
          data: { containerId: 'c'.repeat(64), name: 'x' },
          eventId,
          correlationId: 'corr-1',
          causationId: 'cause-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          tracestate: 'lxr=1',
        },
        { type: 'SomethingUncatalogued', data: null, correlationId: 'corr-1' },
        { type: 'Versioned', data: [1, 'two'], schemaVersion: 3, correlationId: 'corr-2' },
      ]);
      const [first, second, third] = events as [RecordedEvent, RecordedEvent, RecordedEvent];
      assert.equal(first.metadata.eventId, eventId);
      assert.equal(first.metadata.causationId, 'cause-1');
      assert.equal(first.metadata.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      assert.equal(first.metadata.tracestate, 'lxr=1');
      assert.equal(first.schemaVersion, 1, 'catalog version of ContainerRemoved');
      assert.match(
        second.metadata.eventId,
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(second.metadata.causationId, null);
      assert.equal(second.metadata.traceparent, undefined);
      assert.equal(second.schemaVersion, 1, 'uncatalogued types default to version 1');
      assert.equal(second.data, null);
      assert.equal(third.schemaVersion, 3);
      assert.deepEqual(third.data, [1, 'two']);
      for (const [i, e] of events.entries()) {
        assert.equal(e.metadata.stream, stream);
        assert.equal(e.metadata.streamVersion, i + 1);
        assert.ok(Number.isSafeInteger(e.metadata.position) && e.metadata.position > 0);
        assert.equal(new Date(e.metadata.timestamp).toISOString(), e.metadata.timestamp);
        assert.ok(
          Date.parse(e.metadata.timestamp) >= before - 1000 &&
            Date.parse(e.metadata.timestamp) <= Date.now() + 1000,
        );
      }
      assert.ok(
        first.metadata.position < second.metadata.position &&
          second.metadata.position < third.metadata.position,
      );
      assert.deepEqual(await store.readStream(stream), events);
    });

    withStore('expected version: numbers, no-stream, exists and any', async (store) => {
      const stream = newStream();
      await rejectsVersion(store.append(stream, 'exists', [event('A')]), stream, 'exists', 0);
      await rejectsVersion(store.append(stream, 1, [event('A')]), stream, 1, 0);
      assert.equal((await store.append(stream, 0, [event('A')])).streamVersion, 1);
      await rejectsVersion(store.append(stream, 'no-stream', [event('A')]), stream, 'no-stream', 1);
      await rejectsVersion(store.append(stream, 0, [event('A')]), stream, 0, 1);
      await rejectsVersion(store.append(stream, 2, [event('A')]), stream, 2, 1);
      assert.equal((await store.append(stream, 1, [event('B')])).streamVersion, 2);
      assert.equal((await store.append(stream, 'exists', [event('C')])).streamVersion, 3);
      assert.equal((await store.append(stream, 'any', [event('D')])).streamVersion, 4);
      const other = newStream();
      assert.equal((await store.append(other, 'any', [event('A')])).streamVersion, 1);
      assert.equal((await store.append(newStream(), 'no-stream', [event('A')])).streamVersion, 1);
      assert.deepEqual(
        (await store.readStream(stream)).map((e) => e.type),
        ['A', 'B', 'C', 'D'],
      );
    });

    withStore('a conflict is a typed error and appends nothing', async (store) => {
      const stream = newStream();
      await store.append(stream, 'no-stream', [event('A')]);
      const error = await store.append(stream, 5, [event('B'), event('C')]).catch((e: unknown) => e);
      assert.ok(error instanceof WrongExpectedVersionError);
      assert.equal(error.name, 'WrongExpectedVersionError');
      assert.equal(error.code, EventStoreErrorCode.WrongExpectedVersion);
      assert.equal(error.code, 'EVENT_STORE_WRONG_EXPECTED_VERSION');
      assert.deepEqual([error.stream, error.expected, error.actual], [stream, 5, 1]);
      assert.match(error.message, new RegExp(stream));
      assert.equal(await store.streamVersion(stream), 1);
    });

    withStore('an empty append checks the expected version and writes nothing', async (store) => {
      const stream = newStream();
      const empty = await store.append(stream, 'no-stream', []);
      assert.deepEqual([empty.streamVersion, empty.events], [0, []]);
      await rejectsVersion(store.append(stream, 'exists', []), stream, 'exists', 0);
      await store.append(stream, 'no-stream', [event('A')]);
      assert.equal((await store.append(stream, 1, [])).streamVersion, 1);
      await rejectsVersion(store.append(stream, 0, []), stream, 0, 1);
    });

    withStore('rejects malformed appends', async (store) => {
      await assert.rejects(store.append('', 'any', [event('A')]), InvalidAppendError);
      await assert.rejects(store.append(newStream(), -1, [event('A')]), InvalidAppendError);
      await assert.rejects(store.append(newStream(), 1.5, [event('A')]), InvalidAppendError);
      await assert.rejects(
        store.append(newStream(), 'latest' as ExpectedVersion, [event('A')]),
        InvalidAppendError,
      );
      await assert.rejects(
        store.append(newStream(), 'any', [{ ...event('A'), eventId: 'not-a-uuid' }]),
        (e: unknown) => e instanceof InvalidAppendError && e.code === EventStoreErrorCode.InvalidAppend,
      );
      const id = uuidv7();
      await assert.rejects(
        store.append(newStream(), 'any', [
          { ...event('A'), eventId: id },
          { ...event('B'), eventId: id },
        ]),
        InvalidAppendError,
      );
      const stream = newStream();
      await assert.rejects(
        store.appendMany([
          { stream, expectedVersion: 'any', events: [event('A')] },
          { stream, expectedVersion: 'any', events: [event('B')] },
        ]),
        InvalidAppendError,
      );
      assert.equal(await store.streamVersion(stream), 0);
    });

    withStore('appendMany writes several streams at once', async (store) => {
      const [a, b] = [newStream(), newStream()];
      await store.append(b, 'no-stream', [event('B0')]);
      const results = await store.appendMany([
        { stream: a, expectedVersion: 'no-stream', events: [event('A1'), event('A2')] },
        { stream: b, expectedVersion: 1, events: [event('B1')] },
      ]);
      assert.deepEqual(
        results.map((r) => [r.stream, r.streamVersion, r.events.map((e) => e.type)]),
        [
          [a, 2, ['A1', 'A2']],
          [b, 2, ['B1']],
        ],
      );
      assert.deepEqual(await store.readStream(a), results[0]!.events);
      assert.deepEqual(
        (await store.readStream(b, { fromVersion: 2 })).map((e) => e.type),
        ['B1'],
      );
    });

    withStore(
      'appendMany is all or nothing: a conflict on the second stream appends nothing',
      async (store) => {
        const [a, b] = [newStream(), newStream()];
        await store.append(b, 'no-stream', [event('B0')]);
        const marker = await appendMarker(store);
        const error = await store
          .appendMany([
            { stream: a, expectedVersion: 'no-stream', events: [event('A1')] },
            { stream: b, expectedVersion: 'no-stream', events: [event('B1')] },
          ])
          .catch((e: unknown) => e);
        assert.ok(error instanceof WrongExpectedVersionError);
        assert.deepEqual([error.stream, error.expected, error.actual], [b, 'no-stream', 1]);
        assert.equal(await store.streamVersion(a), 0);
        assert.deepEqual(await store.readStream(a), []);
        assert.equal(await store.streamVersion(b), 1);
        assert.deepEqual(await store.readAll({ after: marker }), []);
      },
    );

    withStore('readStream pages with fromVersion and limit', async (store) => {
      const stream = newStream();
      await store.append(
        stream,
        'no-stream',
        [1, 2, 3, 4, 5].map((n) => event('E', n)),
      );
      const n = (events: readonly RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);
      assert.deepEqual(n(await store.readStream(stream, { fromVersion: 2, limit: 2 })), [2, 3]);
      assert.deepEqual(n(await store.readStream(stream, { fromVersion: 4 })), [4, 5]);
      assert.deepEqual(n(await store.readStream(stream, { limit: 1 })), [1]);
      assert.deepEqual(n(await store.readStream(stream, { fromVersion: 6 })), []);
    });

    withStore('readAll returns the log in order and pages with after', async (store) => {
      const marker = await appendMarker(store);
      const [a, b] = [newStream(), newStream()];
      const appended: RecordedEvent[] = [];
      for (let i = 0; i < 5; i++) {
        appended.push(...(await store.append(a, 'any', [event('A', i)])).events);
        appended.push(...(await store.append(b, 'any', [event('B', i), event('B', i + 100)])).events);
      }
      const all = await store.readAll({ after: marker });
      assert.deepEqual(all, appended);
      const paged: RecordedEvent[] = [];
      let after = marker;
      for (;;) {
        const page = await store.readAll({ after, limit: 4 });
        assert.ok(page.length <= 4);
        if (page.length === 0) break;
        paged.push(...page);
        after = page.at(-1)!.metadata.position;
      }
      assert.deepEqual(paged, appended);
      assert.deepEqual(await store.readAll({ after: appended.at(-1)!.metadata.position }), []);
      const fromStart = await store.readAll({ limit: 1 });
      assert.equal(fromStart.length, 1);
      assert.deepEqual(await store.readAll({ after: 0, limit: 1 }), fromStart);
    });

    withStore('readAll rejects an unknown position', async (store) => {
      await appendMarker(store);
      const error = await store.readAll({ after: Number.MAX_SAFE_INTEGER - 7 }).catch((e: unknown) => e);
      assert.ok(error instanceof UnknownPositionError);
      assert.equal(error.code, 'EVENT_STORE_UNKNOWN_POSITION');
      assert.equal(error.position, Number.MAX_SAFE_INTEGER - 7);
    });

    withStore('concurrent appends at the same version: exactly one wins', async (store) => {
      const stream = newStream();
      for (let version = 0; version < 5; version++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, w) => store.append(stream, version, [event('W', w)])),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        assert.equal(won.length, 1, `exactly one writer wins version ${version + 1}`);
        for (const o of lost) assert.ok(o.reason instanceof WrongExpectedVersionError, String(o.reason));
        assert.equal(won[0]!.value.streamVersion, version + 1);
      }
      assert.deepEqual(
        (await store.readStream(stream)).map((e) => e.metadata.streamVersion),
        [1, 2, 3, 4, 5],
      );
    });

    withStore('concurrent writers that retry on conflict each land exactly once', async (store) => {
      const stream = newStream();
      const writers = 6;
      const perWriter = 5;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            for (;;) {
              const version = await store.streamVersion(stream);
              try {
                await store.append(stream, version, [event('W', w * 100 + i)]);
                break;
              } catch (e) {
                if (!(e instanceof WrongExpectedVersionError)) throw e;
              }
            }
          }
        }),
      );
      const events = await store.readStream(stream);
      assert.deepEqual(
        events.map((e) => e.metadata.streamVersion),
        Array.from({ length: writers * perWriter }, (_, i) => i + 1),
      );
      const values = events.map((e) => (e.data as { n: number }).n).sort((x, y) => x - y);
      const expected = Array.from({ length: writers }, (_, w) =>
        Array.from({ length: perWriter }, (_, i) => w * 100 + i),
      ).flat();
      assert.deepEqual(values, expected);
    });

    withStore("concurrent 'any' appends all succeed with distinct versions", async (store) => {
      const stream = newStream();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, w) => store.append(stream, 'any', [event('W', w), event('W', w)])),
      );
      const versions = results
        .flatMap((r) => r.events.map((e) => e.metadata.streamVersion))
        .sort((a, b) => a - b);
      assert.deepEqual(
        versions,
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      for (const r of results) {
        assert.equal(r.events[1]!.metadata.streamVersion, r.events[0]!.metadata.streamVersion + 1);
      }
    });

    withStore('a retried append with the same event ids is a replay, not a duplicate', async (store) => {
      const stream = newStream();
      const events = [
        { ...event('A'), eventId: uuidv7() },
        { ...event('B'), eventId: uuidv7() },
      ];
      const first = await store.append(stream, 'no-stream', events);
      const again = await store.append(stream, 'no-stream', events);
      assert.deepEqual(again, first);
      assert.equal(await store.streamVersion(stream), 2);
      const many = await store.appendMany([{ stream, expectedVersion: 0, events }]);
      assert.deepEqual(many, [first]);

      const error = await store.append(newStream(), 'any', [events[0]!]).catch((e: unknown) => e);
      assert.ok(error instanceof DuplicateEventIdError, String(error));
      assert.equal(error.code, 'EVENT_STORE_DUPLICATE_EVENT_ID');
      assert.equal(error.eventId, events[0]!.eventId);
      await rejectsVersion(store.append(stream, 0, [events[1]!]), stream, 0, 2);
    });
  });
}

let counter = 0;
function newStream(): string {
  return `contract-${randomUUID().slice(0, 8)}-${++counter}`;
}

function event(type: string, n = 0): NewEvent {
  return { type, data: { n }, correlationId: 'contract' };
}

/** Appends an event and returns its position, so a test reads only what it appended after. */
async function appendMarker(store: EventStore): Promise<number> {
  const { events } = await store.append(newStream(), 'no-stream', [event('Marker')]);
  return events[0]!.metadata.position;
}

async function rejectsVersion(
  promise: Promise<unknown>,
  stream: string,
  expected: ExpectedVersion,
  actual: number,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof WrongExpectedVersionError, String(e));
    assert.deepEqual([e.stream, e.expected, e.actual], [stream, expected, actual]);
    return true;
  });
}
