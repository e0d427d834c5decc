import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PostgresServer, startPostgres } from '@lxr/testkit';
import { NO_MIGRATIONS, sql } from 'kysely';
import pg from 'pg';
import { eventStoreContract } from '../event-store.contract.js';
import { createEventStoreMigrator } from './migrator.js';
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
    const marker = (await store.append('commit-order-marker', 'any', [{ type: 'M', data: 0, correlationId: 'c' }]))
      .events[0]!.metadata.position;
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
    assert.deepEqual(plain.map((r) => Number(r.position)), [positionB]);
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
    const marker = (await store.append('paging-marker', 'any', [{ type: 'M', data: 0, correlationId: 'c' }])).events[0]!
      .metadata.position;
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
            const r = await store.append(`paging-${w}`, 'any', [{ type: 'P', data: { w, i }, correlationId: 'c' }]);
            positions.push(r.events[0]!.metadata.position);
          }
          return positions;
        }),
      )
    ).flat();
    writing = false;
    await reader;
    assert.equal(seen.length, appended.length);
    assert.deepEqual([...seen].sort((x, y) => x - y), [...appended].sort((x, y) => x - y));
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

  test('appends notify lxr_events in their transaction', async (t) => {
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
      const { rows } = await pool.query('select count(*)::int as n from lxr_events.events where stream = $1', ['shared-pool']);
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
    assert.equal(publicTables.rows[0]!.n, 0, 'nothing lands in public (other packages keep their own kysely_migration)');

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
});
