import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordedEvent } from '@lxr/events';
import { type PostgresServer, startPostgres } from '@lxr/testkit';
import { type Kysely, sql, type Transaction } from 'kysely';
import { UnknownProjectionError } from '../errors.js';
import type { Projection } from '../projection.js';
import type { Database } from './database.js';
import { createPostgresEventStore, type PostgresEventStore } from './postgres-event-store.js';
import { createProjectionRunner } from './projection-runner.js';

/** The read models of the test projections. */
type ReadModels = {
  stream_stats: { stream: string; events: number; last_version: number; total: number };
  applied: { position: string; stream: string };
};
type Db = Database & ReadModels;

let server: PostgresServer;
let store: PostgresEventStore;
let db: Kysely<Db>;
before(async () => {
  server = await startPostgres({ fsync: false });
  store = createPostgresEventStore({ connectionString: server.url, maxConnections: 20 });
  await store.migrate();
  db = store.db.withTables<ReadModels>();
  await sql`create table stream_stats (stream text primary key, events int not null, last_version int not null, total bigint not null)`.execute(
    db,
  );
  await sql`create table applied (position bigint primary key, stream text not null)`.execute(db);
});
after(async () => {
  await store?.close();
  await server?.dispose();
});

/** Counts `Counted` events per stream and checks they arrive in stream order. */
function streamStats(version = 1, options: { failOn?: () => number | undefined } = {}): Projection<Db> {
  return {
    name: 'stream-stats',
    version,
    handles: version === 1 ? ['Counted'] : ['Counted', 'Ignored'],
    async apply(trx, event) {
      if (options.failOn?.() === event.metadata.position) throw new Error('apply failed on purpose');
      const row = await trx
        .selectFrom('stream_stats')
        .selectAll()
        .where('stream', '=', event.metadata.stream)
        .executeTakeFirst();
      const n = (event.data as { n: number }).n;
      if (row && row.last_version >= event.metadata.streamVersion) {
        throw new Error(
          `${event.metadata.stream} v${event.metadata.streamVersion} applied out of order or twice`,
        );
      }
      await trx
        .insertInto('stream_stats')
        .values({
          stream: event.metadata.stream,
          events: 1,
          last_version: event.metadata.streamVersion,
          total: n,
        })
        .onConflict((oc) =>
          oc.column('stream').doUpdateSet({
            events: sql`stream_stats.events + 1`,
            last_version: event.metadata.streamVersion,
            total: sql`stream_stats.total + ${n}`,
          }),
        )
        .execute();
    },
    async reset(trx) {
      await trx.deleteFrom('stream_stats').execute();
    },
  };
}

/** Records every position once: a second apply of one event violates the primary key. */
const applied: Projection<Db> = {
  name: 'applied',
  version: 1,
  handles: ['Counted', 'Ignored'],
  async apply(trx: Transaction<Db>, event: RecordedEvent) {
    await trx
      .insertInto('applied')
      .values({ position: String(event.metadata.position), stream: event.metadata.stream })
      .execute();
  },
  async reset(trx) {
    await trx.deleteFrom('applied').execute();
  },
};

const snapshot = async () =>
  (await db.selectFrom('stream_stats').selectAll().orderBy('stream').execute()).map((r) => ({
    ...r,
    total: Number(r.total),
  }));

async function writeConcurrently(
  writers: number,
  appendsPerWriter: number,
  prefix: string,
): Promise<RecordedEvent[]> {
  const results = await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const events: RecordedEvent[] = [];
      for (let i = 0; i < appendsPerWriter; i++) {
        const stream = `${prefix}-${w % 3}-${w}`;
        if (i % 5 === 4) {
          const many = await store.appendMany([
            {
              stream,
              expectedVersion: 'any',
              events: [{ type: 'Counted', data: { n: i }, correlationId: 'p' }],
            },
            {
              stream: `${prefix}-shared-${i % 4}`,
              expectedVersion: 'any',
              events: [{ type: 'Counted', data: { n: 1 }, correlationId: 'p' }],
            },
          ]);
          events.push(...many.flatMap((r) => r.events));
        } else {
          const r = await store.append(stream, 'any', [
            { type: 'Counted', data: { n: i }, correlationId: 'p' },
            { type: 'Ignored', data: { n: 1000 }, correlationId: 'p' },
          ]);
          events.push(...r.events);
        }
      }
      return events;
    }),
  );
  return results.flat();
}

describe('projection runner', () => {
  test('a projection rebuilt from zero equals the live one after concurrent appends', async (t) => {
    // Two runners, as two processes would run them, both live while writers append.
    const runners = [0, 1].map(() =>
      createProjectionRunner({
        db,
        projections: [streamStats(), applied],
        notifications: store.notifications,
        pollIntervalMs: 200,
        batchSize: 37,
      }),
    );
    t.after(() => Promise.all(runners.map((r) => r.stop())));
    await Promise.all(runners.map((r) => r.start()));
    const events = await writeConcurrently(12, 30, 'live');
    await runners[0]!.catchUp();

    const live = await snapshot();
    const expected = new Map<string, { events: number; last: number; total: number }>();
    for (const e of events.filter((e) => e.type === 'Counted')) {
      const s = expected.get(e.metadata.stream) ?? { events: 0, last: 0, total: 0 };
      s.events++;
      s.last = Math.max(s.last, e.metadata.streamVersion);
      s.total += (e.data as { n: number }).n;
      expected.set(e.metadata.stream, s);
    }
    assert.deepEqual(
      live.map((r) => [r.stream, r.events, r.total]),
      [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, v]) => [s, v.events, v.total]),
    );
    const appliedCount = await db
      .selectFrom('applied')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(appliedCount.n, events.length, 'every event applied exactly once across both runners');

    const checkpoints = await runners[1]!.checkpoints();
    const last = (await store.readAll()).at(-1)!.metadata.position;
    assert.deepEqual(checkpoints, { 'stream-stats': last, applied: last });

    await runners[0]!.rebuild('stream-stats');
    assert.deepEqual(await snapshot(), live);
    await assert.rejects(runners[0]!.rebuild('nope'), UnknownProjectionError);
  });

  test('a started runner is woken by NOTIFY, not only by polling', async (t) => {
    const runner = createProjectionRunner({
      db,
      projections: [streamStats()],
      notifications: store.notifications,
      pollIntervalMs: 60_000,
    });
    t.after(() => runner.stop());
    await runner.start();
    await runner.catchUp();
    const { events } = await store.append('woken-1', 'no-stream', [
      { type: 'Counted', data: { n: 7 }, correlationId: 'p' },
    ]);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const row = await db
        .selectFrom('stream_stats')
        .selectAll()
        .where('stream', '=', 'woken-1')
        .executeTakeFirst();
      if (row) break;
      assert.ok(Date.now() < deadline, 'the runner applied the event within 5 s of its commit');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await runner.checkpoints())['stream-stats'], events[0]!.metadata.position);
  });

  test('a failing apply rolls back its batch and checkpoint, and catch-up resumes there', async () => {
    const runner = createProjectionRunner({ db, projections: [streamStats(), applied], batchSize: 10 });
    await runner.catchUp();
    const before = await snapshot();
    const checkpointsBefore = await runner.checkpoints();
    await writeConcurrently(2, 5, 'failing');
    // The first new event in commit order: its batch is the first one, so nothing may commit.
    const next = await store.readAll({ after: checkpointsBefore['stream-stats']! });
    let failAt: number | undefined = next.find((e) => e.type === 'Counted')!.metadata.position;
    const failing = createProjectionRunner({
      db,
      projections: [streamStats(1, { failOn: () => failAt }), applied],
      batchSize: 10,
    });
    await assert.rejects(failing.catchUp(), /apply failed on purpose/);
    assert.deepEqual(await snapshot(), before, 'nothing of the failed batch is visible');
    assert.equal((await failing.checkpoints())['stream-stats'], checkpointsBefore['stream-stats']);
    failAt = undefined;
    await failing.catchUp();
    const after = await snapshot();
    assert.ok(after.length > before.length);
    const last = (await store.readAll()).at(-1)!.metadata.position;
    assert.deepEqual(await failing.checkpoints(), { 'stream-stats': last, applied: last });
  });

  test('a version bump rebuilds the read model; an older runner leaves it alone', async () => {
    const v1 = createProjectionRunner({ db, projections: [streamStats(1)] });
    await v1.catchUp();
    await writeConcurrently(3, 4, 'versioned');
    await v1.catchUp();
    const before = await snapshot();
    const v2 = createProjectionRunner({ db, projections: [streamStats(2)] });
    await v2.catchUp();
    const after = await snapshot();
    // Version 2 also counts `Ignored` events (n = 1000 each): every total grows, for the whole log.
    const ignored = (await store.readAll()).filter((e) => e.type === 'Ignored');
    assert.ok(ignored.length > 0);
    const grown = after.reduce((s, r) => s + r.total, 0) - before.reduce((s, r) => s + r.total, 0);
    assert.equal(grown, ignored.length * 1000);
    const { version } = await db
      .selectFrom('lxr_events.projection_checkpoints')
      .select('version')
      .where('name', '=', 'stream-stats')
      .executeTakeFirstOrThrow();
    assert.equal(version, 2);

    await store.append('versioned-late', 'any', [{ type: 'Counted', data: { n: 1 }, correlationId: 'p' }]);
    await v1.catchUp(); // the old runner must not touch a version-2 read model
    assert.deepEqual(await snapshot(), after);
    await v2.catchUp();
    assert.equal((await snapshot()).find((r) => r.stream === 'versioned-late')?.events, 1);
  });
});
