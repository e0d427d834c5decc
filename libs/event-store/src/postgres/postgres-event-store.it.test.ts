import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PostgresServer, startPostgres } from '@lxr/testkit';
import { type Migration, NO_MIGRATIONS, sql } from 'kysely';
import pg from 'pg';
import { MigrationError, WrongExpectedVersionError } from '../errors.js';
import { eventStoreContract } from '../event-store.contract.js';
import { createEventStoreMigrator, migrateSchema } from './migrator.js';
import { createPostgresEventStore } from './postgres-event-store.js';

let server: PostgresServer;
before(async () => {
  server = await startPostgres({ fsync: false });
  const store = createPostgresEventStore({ connectionString: server.url });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
});
after(() => server?.dispose());

eventStoreContract('PostgreSQL', async () => createPostgresEventStore({ connectionString: server.url }));

describe('PostgreSQL event store', () => {
  test('readAll never skips an event whose transaction commits after a later position', async (t) => {
    const store = createPostgresEventStore({ connectionString: server.url });
    const a = new pg.Client({ connectionString: server.url });
    const b = new pg.Client({ connectionString: server.url });
    t.after(async () => {
      await a.end().catch(() => {});
      await b.end().catch(() => {});
      await store.close();
    });
    await Promise.all([a.connect(), b.connect()]);
    const marker = (
      await store.append('commit-order-marker', 'any', [{ type: 'M', data: 0, correlationId: 'c' }])
    ).events[0]!.metadata.position;
    const insert = `insert into lxr_events.events (event_id, stream, stream_version, type, schema_version, data, correlation_id)
      values (gen_random_uuid(), $1, 1, 'T', 1, '{}', 'c') returning position::int as position`;

    // A takes a position and stays open.
    await a.query('begin');
    const positionA = (await a.query(insert, ['commit-order-a'])).rows[0].position as number;
    // B takes a later position and commits.
    await b.query('begin');
    const positionB = (await b.query(insert, ['commit-order-b'])).rows[0].position as number;
    await b.query('commit');
    assert.ok(positionB > positionA);

    // B's row is committed and a plain `position > x` reader would return it, then move its cursor
    // past A's position for good. The store must not show it before A is decided.
    const plain = await store.db
      .selectFrom('lxr_events.events')
      .select('position')
      .where('position', '>', String(marker))
      .execute();
    assert.deepEqual(
      plain.map((r) => Number(r.position)),
      [positionB],
    );
    assert.deepEqual(await store.readAll({ after: marker }), []);

    await a.query('commit');
    const seen = (await store.readAll({ after: marker })).map((e) => e.metadata.position);
    assert.deepEqual(seen, [positionA, positionB]);

    // Commit order is the read order even when it differs from position order.
    await a.query('begin');
    const positionC = (await a.query(insert, ['commit-order-c'])).rows[0].position as number;
    await b.query('begin');
    const positionD = (await b.query(insert, ['commit-order-d'])).rows[0].position as number;
    await b.query('commit');
    assert.deepEqual(await store.readAll({ after: positionB }), []);
    await a.query('rollback');
    assert.deepEqual(
      (await store.readAll({ after: positionB })).map((e) => e.metadata.position),
      [positionD],
      `a rolled back position (${positionC}) is never seen`,
    );
  });

  test('readAll pages through concurrent appends without skipping or repeating', async (t) => {
    const store = createPostgresEventStore({ connectionString: server.url, maxConnections: 20 });
    t.after(() => store.close());
    const marker = (await store.append('paging-marker', 'any', [{ type: 'M', data: 0, correlationId: 'c' }]))
      .events[0]!.metadata.position;
    const seen: number[] = [];
    let cursor = marker;
    let writing = true;
    const reader = (async () => {
      for (;;) {
        const done = !writing;
        const page = await store.readAll({ after: cursor, limit: 7 });
        for (const e of page) seen.push(e.metadata.position);
        if (page.length > 0) cursor = page.at(-1)!.metadata.position;
        else if (done) return;
      }
    })();
    const appended = (
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          const positions: number[] = [];
          for (let i = 0; i < 25; i++) {
            const r = await store.append(`paging-${w}`, 'any', [
              { type: 'P', data: { w, i }, correlationId: 'c' },
            ]);
            positions.push(r.events[0]!.metadata.position);
          }
          return positions;
        }),
      )
    ).flat();
    writing = false;
    await reader;
    assert.equal(seen.length, appended.length);
    assert.deepEqual(
      [...seen].sort((x, y) => x - y),
      [...appended].sort((x, y) => x - y),
    );
    // The whole log, read from 0, is in commit order: the order of (transaction_id, position) as xid8
    // and bigint (a text ordering would put xid 1000 before 999).
    const expected = await sql<{ p: number }>`select position::float8 as p from lxr_events.events
      order by transaction_id, position`.execute(store.db);
    const all = await store.readAll();
    assert.deepEqual(
      all.map((e) => e.metadata.position),
      expected.rows.map((r) => r.p),
    );
  });

  test('a conflict with a writer in another process is found as a unique violation and typed', async (t) => {
    // Separate stores (separate pools) do not share an append queue: only PostgreSQL orders them.
    const stores = Array.from({ length: 6 }, () =>
      createPostgresEventStore({ connectionString: server.url }),
    );
    t.after(() => Promise.all(stores.map((s) => s.close())));
    const stream = `cross-process-${Date.now()}`;
    let raced = 0;
    for (let version = 0; version < 6; version++) {
      const outcomes = await Promise.allSettled(
        stores.map((s, w) => s.append(stream, version, [{ type: 'W', data: { w }, correlationId: 'c' }])),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1, `exactly one store wins version ${version + 1}`);
      for (const o of outcomes) {
        if (o.status === 'fulfilled') continue;
        assert.ok(o.reason instanceof WrongExpectedVersionError, String(o.reason));
        assert.equal(o.reason.actual, version + 1);
        if ((o.reason.cause as { code?: string } | undefined)?.code === '23505') raced++;
      }
    }
    t.diagnostic(`${raced} conflicts were first seen as unique violations`);

    // Deterministically: another session inserts the next version and holds it uncommitted; our
    // append computes the same version, waits on the index, and fails once the other commits.
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    t.after(() => other.end());
    await other.query('begin');
    await other.query(
      `insert into lxr_events.events (event_id, stream, stream_version, type, schema_version, data, correlation_id)
       values (gen_random_uuid(), $1, 7, 'Other', 1, '{}', 'c')`,
      [stream],
    );
    const pending = stores[0]!.append(stream, 6, [{ type: 'Mine', data: {}, correlationId: 'c' }]);
    await new Promise((r) => setTimeout(r, 200));
    await other.query('commit');
    const error = await pending.catch((e: unknown) => e);
    assert.ok(error instanceof WrongExpectedVersionError, String(error));
    assert.deepEqual([error.expected, error.actual], [6, 7]);
    assert.equal((error.cause as { code?: string }).code, '23505', 'the cause is the unique violation');
    const anyResults = await Promise.all(
      stores.flatMap((s, w) =>
        [0, 1, 2].map((i) => s.append(stream, 'any', [{ type: 'A', data: { w, i }, correlationId: 'c' }])),
      ),
    );
    assert.deepEqual(
      anyResults.map((r) => r.streamVersion).sort((a, b) => a - b),
      Array.from({ length: 18 }, (_, i) => i + 8),
    );
  });

  test('concurrent calls share statements (group commit) and each stays all-or-nothing', async (t) => {
    const store = createPostgresEventStore({ connectionString: server.url, appendQueue: { concurrency: 1 } });
    t.after(() => store.close());
    const prefix = `group-${Date.now()}`;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.append(`${prefix}-${i}`, 'no-stream', [{ type: 'S', data: i, correlationId: 'c' }]),
      ),
    );
    // Even calls conflict on their second stream; odd ones succeed. All are queued together.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.appendMany([
          {
            stream: `${prefix}-new-${i}`,
            expectedVersion: 'no-stream',
            events: [{ type: 'N', data: i, correlationId: 'c' }],
          },
          {
            stream: `${prefix}-${i}`,
            expectedVersion: i % 2 === 0 ? 0 : 1,
            events: [{ type: 'M', data: i, correlationId: 'c' }],
          },
        ]),
      ),
    );
    for (const [i, o] of outcomes.entries()) {
      if (i % 2 === 0) {
        assert.equal(o.status, 'rejected');
        assert.equal(await store.streamVersion(`${prefix}-new-${i}`), 0, `call ${i} appended nothing`);
      } else {
        assert.equal(o.status, 'fulfilled');
        assert.equal(await store.streamVersion(`${prefix}-${i}`), 2);
      }
    }
    const { rows } = await store.pool.query<{ transactions: number; events: number }>(
      `select count(distinct transaction_id)::int as transactions, count(*)::int as events
       from lxr_events.events where stream like $1`,
      [`${prefix}-%`],
    );
    assert.equal(rows[0]!.events, 10 + 5 * 2);
    assert.ok(
      rows[0]!.transactions < 15,
      `20 successful calls committed in ${rows[0]!.transactions} transactions`,
    );
  });

  // Without the NOTIFY, `woken` never resolves: the timeout turns that into a failure, not a hang.
  test('appends notify lxr_events in their transaction', { timeout: 10_000 }, async (t) => {
    const store = createPostgresEventStore({ connectionString: server.url });
    t.after(() => store.close());
    let wakes = 0;
    let resolve!: () => void;
    const woken = new Promise<void>((r) => (resolve = r));
    const off = store.notifications.subscribe(() => {
      wakes++;
      if (wakes >= 2) resolve(); // once on LISTEN, once for the append
    });
    t.after(off);
    await new Promise((r) => setTimeout(r, 200));
    await store.append('notify-1', 'any', [{ type: 'N', data: 1, correlationId: 'c' }]);
    await woken;
  });

  test('shares a pool it was given and leaves it open', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    try {
      const store = createPostgresEventStore({ pool });
      await store.append('shared-pool', 'any', [{ type: 'S', data: 1, correlationId: 'c' }]);
      await store.close();
      const { rows } = await pool.query(
        'select count(*)::int as n from lxr_events.events where stream = $1',
        ['shared-pool'],
      );
      assert.equal(rows[0].n, 1);
    } finally {
      await pool.end();
    }
  });

  test('migrations live in their own schema and table, run down and up again, and race safely', async (t) => {
    const dbName = 'migrations_test';
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const url = server.url.replace(/\/[^/]+$/, `/${dbName}`);
    const stores = Array.from({ length: 4 }, () => createPostgresEventStore({ connectionString: url }));
    t.after(() => Promise.all(stores.map((s) => s.close())));
    await Promise.all(stores.map((s) => s.migrate()));
    const store = stores[0]!;
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables
      where table_schema = 'lxr_events' order by table_name`.execute(store.db);
    assert.deepEqual(
      tables.rows.map((r) => r.table_name),
      ['events', 'migration_lock', 'migrations', 'outbox_checkpoints', 'projection_checkpoints'],
    );
    const publicTables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables
      where table_schema = 'public'`.execute(store.db);
    assert.equal(
      publicTables.rows[0]!.n,
      0,
      'nothing lands in public (other packages keep their own kysely_migration)',
    );

    const migrator = createEventStoreMigrator(store.db);
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    assert.equal(down.error, undefined);
    assert.deepEqual(
      down.results?.map((r) => [r.migrationName, r.direction, r.status]),
      [
        ['20261129100100-create-checkpoints', 'Down', 'Success'],
        ['20261129100000-create-events', 'Down', 'Success'],
      ],
    );
    const left = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables
      where table_schema = 'lxr_events' and table_name = 'events'`.execute(store.db);
    assert.equal(left.rows[0]!.n, 0);
    await store.migrate();
    const applied = await migrator.getMigrations();
    assert.ok(applied.length === 2 && applied.every((m) => m.executedAt !== undefined));
    await store.append('after-remigration', 'no-stream', [{ type: 'X', data: 1, correlationId: 'c' }]);
  });

  test("migrateSchema keeps another package's migrations in its own schema and names a failed one", async (t) => {
    const store = createPostgresEventStore({ connectionString: server.url });
    t.after(() => store.close());
    const things: Migration = {
      async up(db) {
        await db.schema.withSchema('other_pkg').createTable('things').addColumn('id', 'integer').execute();
      },
    };
    const set = { schema: 'other_pkg', migrations: { '20261201000000-things': things } };
    await Promise.all([migrateSchema(store.db, set), migrateSchema(store.db, set)]);
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables
      where table_schema = 'other_pkg' order by table_name`.execute(store.db);
    assert.deepEqual(
      tables.rows.map((r) => r.table_name),
      ['migration_lock', 'migrations', 'things'],
    );

    const broken: Migration = {
      async up(db) {
        await sql`select no_such_column from other_pkg.things`.execute(db);
      },
    };
    const error = await migrateSchema(store.db, {
      schema: 'other_pkg',
      migrations: { ...set.migrations, '20261201000100-broken': broken },
    }).catch((e: unknown) => e);
    assert.ok(error instanceof MigrationError, String(error));
    assert.equal(error.code, 'EVENT_STORE_MIGRATION_FAILED');
    assert.deepEqual([error.schema, error.migration], ['other_pkg', '20261201000100-broken']);
    assert.match(error.message, /20261201000100-broken.*other_pkg/);
    assert.ok(error.cause instanceof Error);
  });
});
