import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '@lxr/events';
import { type NatsServer, type PostgresServer, startNats, startPostgres } from '@lxr/testkit';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import pg from 'pg';
import {
  jetStreamPublisher,
  type Received,
  resetEventsStream,
  streamMessages,
  subscribeAll,
} from '../testing/jetstream.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';
import { createPostgresEventStore, type PostgresEventStore } from './postgres-event-store.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let postgres: PostgresServer;
let nats: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
before(async () => {
  [postgres, nats] = await Promise.all([startPostgres({ fsync: false }), startNats()]);
  nc = await connect({ servers: nats.url });
  js = nc.jetstream();
  jsm = await nc.jetstreamManager();
});
after(async () => {
  await nc?.close();
  await Promise.all([postgres?.dispose(), nats?.dispose()]);
});

/** A fresh database with the store migrated and an empty JetStream stream, for one test. */
let databases = 0;
async function freshLog(t: TestContext): Promise<{ url: string; store: PostgresEventStore }> {
  const name = `relay_${++databases}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = postgres.url.replace(/\/[^/]+$/, `/${name}`);
  const store = createPostgresEventStore({ connectionString: url, maxConnections: 16 });
  t.after(() => store.close());
  await store.migrate();
  await resetEventsStream(jsm);
  return { url, store };
}

function relayFor(t: TestContext, url: string, extra: Partial<Parameters<typeof createOutboxRelay>[0]> = {}) {
  const publisher = jetStreamPublisher(js);
  const relay = createOutboxRelay({
    connectionString: url,
    publish: publisher.publish,
    leaderRetryMs: 100,
    pollIntervalMs: 250,
    ...extra,
  });
  t.after(() => relay.stop());
  return { relay, publisher };
}

/** Each event id exactly once, and each stream's events in stream order. */
function assertExactlyOnceInOrder(received: readonly Received[], appended: readonly RecordedEvent[]): void {
  assert.equal(received.length, appended.length, 'as many messages as events');
  const ids = new Set(received.map((r) => r.event.metadata.eventId));
  assert.equal(ids.size, received.length, 'no event id twice');
  assert.deepEqual(ids, new Set(appended.map((e) => e.metadata.eventId)), 'every appended event arrived');
  for (const r of received) assert.equal(r.msgId, r.event.metadata.eventId, 'Nats-Msg-Id is the event id');
  const lastVersion = new Map<string, number>();
  for (const { event } of received) {
    const previous = lastVersion.get(event.metadata.stream) ?? 0;
    assert.equal(event.metadata.streamVersion, previous + 1, `${event.metadata.stream} arrives in order`);
    lastVersion.set(event.metadata.stream, event.metadata.streamVersion);
  }
}

async function writers(
  store: PostgresEventStore,
  count: number,
  perWriter: number,
  prefix: string,
  pauseEvery = 0,
): Promise<RecordedEvent[]> {
  const all = await Promise.all(
    Array.from({ length: count }, async (_, w) => {
      const events: RecordedEvent[] = [];
      for (let i = 0; i < perWriter; i++) {
        const { events: appended } = await store.append(`${prefix}-${w}`, i, [
          { type: 'RelayTested', data: { w, i }, correlationId: `${prefix}-${w}` },
        ]);
        events.push(...appended);
        if (pauseEvery > 0 && i % pauseEvery === 0) await new Promise((r) => setTimeout(r, 1));
      }
      return events;
    }),
  );
  return all.flat();
}

describe('outbox relay', () => {
  test('10 concurrent writers × 1,000 events reach JetStream complete, once each, in stream order', async (t) => {
    const { url, store } = await freshLog(t);
    const subscriber = await subscribeAll(js);
    t.after(() => subscriber.stop());
    const { relay } = relayFor(t, url);
    await relay.start();
    const appended = await writers(store, 10, 1_000, 'w');
    const received = await subscriber.until(appended.length, 60_000);
    await new Promise((r) => setTimeout(r, 300)); // anything extra would show up now
    assertExactlyOnceInOrder(received, appended);
    assert.equal(await streamMessages(jsm), appended.length);
    assert.ok(relay.isLeader);
  });

  test('a relay killed with SIGKILL mid-stream and restarted loses nothing; JetStream holds each event once', async (t) => {
    const { url, store } = await freshLog(t);
    const children: ChildProcess[] = [];
    t.after(() => {
      for (const child of children) child.kill('SIGKILL');
    });
    const spawnRelay = (env: Record<string, string>) => {
      const child = spawn(process.execPath, [path.join(here, '../testing/relay-child.js')], {
        env: { ...process.env, LXR_TEST_PG_URL: url, LXR_TEST_NATS_URL: nats.url, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr!.on('data', () => {});
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return {
        child,
        exited,
        output: () =>
          stdout
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
      };
    };

    // A backlog in one batch, published slowly, so the kill lands after many publishes and before
    // that batch's checkpoint: the restarted relay must publish those events again.
    const backlog = await writers(store, 4, 300, 'backlog');
    const first = spawnRelay({ LXR_TEST_PUBLISH_DELAY_MS: '2', LXR_TEST_BATCH_SIZE: '2000' });
    const deadline = Date.now() + 30_000;
    while ((await streamMessages(jsm)) < 300) {
      assert.ok(Date.now() < deadline, 'the first relay published 300 events within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const publishedBeforeKill = await streamMessages(jsm);
    assert.ok(publishedBeforeKill < backlog.length, 'killed mid-stream');

    // Writers keep going while no relay runs and after the new one starts.
    const live = writers(store, 4, 250, 'live', 10);
    const second = spawnRelay({ LXR_TEST_BATCH_SIZE: '100' });
    const appended = [...backlog, ...(await live)];
    const subscriber = await subscribeAll(js);
    t.after(() => subscriber.stop());
    const received = await subscriber.until(appended.length, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    second.child.kill('SIGTERM');
    await second.exited;
    assertExactlyOnceInOrder(received, appended);
    assert.equal(await streamMessages(jsm), appended.length, 'the stream holds each event id exactly once');
    const stats = second.output().find((l) => 'duplicates' in l) as { published: number; duplicates: number };
    assert.ok(
      stats.duplicates >= publishedBeforeKill,
      `the restarted relay republished what the killed one had not checkpointed (${stats.duplicates} duplicates)`,
    );
    t.diagnostic(
      `killed after ${publishedBeforeKill} publishes; ${stats.duplicates} republished and deduplicated`,
    );
  });

  test('a relay survives a PostgreSQL restart', async (t) => {
    const { url, store } = await freshLog(t);
    const subscriber = await subscribeAll(js);
    t.after(() => subscriber.stop());
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_: object, message: string) => warnings.push(message),
    };
    const { relay } = relayFor(t, url, { retryDelayMs: 50, logger });
    await relay.start();
    const before = await writers(store, 2, 50, 'before-restart');
    await subscriber.until(before.length, 20_000);

    await restartPostgres(postgres);
    const afterRestart: RecordedEvent[] = [];
    for (let i = 0; i < 100; i++) {
      afterRestart.push(...(await appendRetrying(store, 'after-restart', i)));
    }
    const received = await subscriber.until(before.length + afterRestart.length, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    assertExactlyOnceInOrder(received, [...before, ...afterRestart]);
    assert.ok(relay.isLeader, 'the relay is leader again');
    assert.ok(
      warnings.includes('outbox relay lost PostgreSQL; reconnecting'),
      'the restart did cut the relay off',
    );
  });

  test('one leader among several relays; a standby takes over when the leader stops', async (t) => {
    const { url, store } = await freshLog(t);
    const subscriber = await subscribeAll(js);
    t.after(() => subscriber.stop());
    const relays = [0, 1, 2].map(() => relayFor(t, url).relay);
    await Promise.all(relays.map((r) => r.start()));
    const leaderOf = async (candidates: readonly OutboxRelay[]) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const leaders = candidates.filter((r) => r.isLeader);
        if (leaders.length === 1) return leaders[0]!;
        assert.ok(leaders.length <= 1, 'never two leaders');
        assert.ok(Date.now() < deadline, 'a leader within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const first = await leaderOf(relays);
    const part1 = await writers(store, 3, 100, 'leader-1');
    await subscriber.until(part1.length, 20_000);
    await first.stop();
    const rest = relays.filter((r) => r !== first);
    const part2 = writers(store, 3, 100, 'leader-2', 5);
    const second = await leaderOf(rest);
    const all = [...part1, ...(await part2)];
    const received = await subscriber.until(all.length, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    assertExactlyOnceInOrder(received, all);
    assert.equal(first.published + second.published, all.length, 'standbys published nothing');
    assert.equal(rest.find((r) => r !== second)!.published, 0);
  });

  test('a publish failing inside a window keeps JetStream in order: the chained ones after it are refused', async (t) => {
    const { url, store } = await freshLog(t);
    const subscriber = await subscribeAll(js);
    t.after(() => subscriber.stop());
    const publisher = jetStreamPublisher(js);
    let failed = false;
    const relay = createOutboxRelay({
      connectionString: url,
      publishWindow: 64,
      retryDelayMs: 20,
      pollIntervalMs: 100,
      async publish(event, chaining) {
        // Event 10 is lost on its way the first time; 11… of its window still reach the broker.
        if ((event.data as { i: number }).i === 10 && !failed) {
          failed = true;
          throw new Error('connection dropped');
        }
        await publisher.publish(event, chaining);
      },
    });
    t.after(() => relay.stop());
    const appended = await writers(store, 1, 100, 'window');
    await relay.start();
    const received = await subscriber.until(appended.length, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(failed);
    assertExactlyOnceInOrder(received, appended);
    assert.deepEqual(
      received.map((r) => r.seq),
      appended.map((_, i) => i + 1),
      'stored in log order, no gaps',
    );
  });

  test('a failing publish is retried from the event that failed, in order', async (t) => {
    const { url, store } = await freshLog(t);
    const seen: string[] = [];
    let failures = 0;
    const relay = createOutboxRelay({
      connectionString: url,
      batchSize: 10,
      retryDelayMs: 20,
      pollIntervalMs: 100,
      // A broker as JetStream behaves: a chained publish fails unless its predecessor is the last stored.
      async publish(event, { expectLastEventId }) {
        const { i } = event.data as { i: number };
        if (i === 17 && failures < 3) {
          failures++;
          throw new Error('broker unavailable');
        }
        if (expectLastEventId !== undefined && expectLastEventId !== seen.at(-1)) {
          throw new Error(`wrong last msg id: ${seen.at(-1)}`);
        }
        seen.push(event.metadata.eventId);
      },
    });
    t.after(() => relay.stop());
    const appended = await writers(store, 1, 40, 'flaky');
    await relay.start();
    const deadline = Date.now() + 10_000;
    while (seen.length < appended.length) {
      assert.ok(Date.now() < deadline, `published ${seen.length} of ${appended.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(failures, 3);
    assert.deepEqual(
      seen,
      appended.map((e) => e.metadata.eventId),
      'each event once, in order, although event 17 failed three times',
    );
  });

  test('an event held behind a transaction that never notifies is relayed without waiting for the poll', async (t) => {
    const { url, store } = await freshLog(t);
    const published: string[] = [];
    // A poll interval longer than the test's own limit: only a re-check can relay the event.
    const relay = createOutboxRelay({
      connectionString: url,
      pollIntervalMs: 120_000,
      async publish(event) {
        published.push(event.metadata.eventId);
      },
    });
    t.after(() => relay.stop());
    await relay.start();
    // An open transaction with an xid (as a projection's batch has) holds the commit-order horizon.
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    t.after(() => blocker.end());
    await blocker.query('begin');
    await blocker.query('select pg_current_xact_id()');
    const [event] = (await writers(store, 1, 1, 'held')) as [RecordedEvent];
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(published, [], 'not relayed while an older transaction may still commit before it');
    await blocker.query('commit'); // no NOTIFY: nothing but a re-check finds the event now
    const deadline = Date.now() + 30_000;
    while (published.length === 0) {
      assert.ok(Date.now() < deadline, 'the event was relayed');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(published, [event.metadata.eventId]);
  });

  test('stop finishes the in-flight batch and checkpoints it', async (t) => {
    const { url, store } = await freshLog(t);
    const appended = await writers(store, 1, 50, 'stopping');
    let publishedCount = 0;
    let release!: () => void;
    const firstPublish = new Promise<void>((r) => (release = r));
    const relay = createOutboxRelay({
      connectionString: url,
      batchSize: 50,
      async publish() {
        publishedCount++;
        release();
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    await relay.start();
    await firstPublish;
    await relay.stop();
    assert.equal(publishedCount, appended.length, 'the whole batch was published before stop resolved');
    const { rows } = await store.pool.query(
      'select position::float8 as position from lxr_events.outbox_checkpoints',
    );
    assert.deepEqual(rows, [{ position: appended.at(-1)!.metadata.position }]);
  });
});

/** Fast shutdown (SIGINT, as `pg_ctl -m fast`), then start again on the same port and data. */
async function restartPostgres(server: PostgresServer): Promise<void> {
  const pid = Number(
    (await readFile(path.join(server.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  process.kill(pid, 'SIGINT');
  await server.stop();
  await server.start();
}

/** Appends, retrying while the pool replaces connections that died with the old server. */
async function appendRetrying(
  store: PostgresEventStore,
  stream: string,
  i: number,
): Promise<readonly RecordedEvent[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (
        await store.append(stream, i, [{ type: 'RelayTested', data: { w: 0, i }, correlationId: stream }])
      ).events;
    } catch (error) {
      if (attempt > 20 || (error as { code?: string }).code === 'EVENT_STORE_WRONG_EXPECTED_VERSION')
        throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
