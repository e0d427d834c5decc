import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, createClient, type LxrClient } from '@lxr/client';
import { type PostgresServer, startPostgres } from '@lxr/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { staticNodeDirectory } from './nodes/node-directory.js';
import { type GatewayDatabaseFixture, gatewayDatabase } from './testing/postgres.js';
import { liveNode, TEST_TOKEN } from './testing/test-app.js';

// The HTTP surface over the real PostgreSQL store and read model, through @lxr/client.
let server: PostgresServer;
let fixture: GatewayDatabaseFixture;
let app: FastifyInstance;
let client: LxrClient;
let url: string;

before(async () => {
  server = await startPostgres({ fsync: false });
  fixture = await gatewayDatabase(server);
  app = await buildApp({
    store: fixture.store,
    readModel: fixture.readModel,
    nodes: staticNodeDirectory([liveNode('node-1')]),
    token: TEST_TOKEN,
    appends: fixture.store.notifications,
    readiness: { postgres: async () => void (await fixture.store.pool.query('select 1')) },
    sse: { heartbeatMs: 1_000, pollMs: 5_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = createClient({ url, token: TEST_TOKEN });
});

after(async () => {
  await app?.close();
  await fixture?.dispose();
  await server?.dispose();
});

const logLength = async () => (await fixture.store.readAll()).length;

describe('api-gateway over PostgreSQL', () => {
  it('creates, lists at once, inspects and removes', async () => {
    const created = await client.containers.create({
      name: 'goCon',
      image: 'golang',
      resources: { cpus: 1.5 },
    });
    assert.equal(created.replayed, false);
    const listed = await client.containers.list();
    assert.deepEqual(
      listed.map((c) => [c.id, c.name, c.state, c.node]),
      [[created.id, 'goCon', 'requested', 'node-1']],
    );
    assert.deepEqual(listed[0]?.resources, { cpus: 1.5 });
    const details = await client.containers.get(created.id.slice(0, 8));
    assert.deepEqual(
      details.events.map((e) => e.type),
      ['ContainerRequested'],
    );
    assert.deepEqual(await client.containers.remove('goCon'), { id: created.id, name: 'goCon' });
    await assert.rejects(
      client.containers.remove('goCon'),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    );
    assert.deepEqual(await client.containers.list({ all: true }), []);
  });

  it('refuses a taken name with 409, appending nothing', async () => {
    await client.containers.create({ name: 'taken', image: 'x' });
    const before = await logLength();
    await assert.rejects(
      client.containers.create({ name: 'taken', image: 'y' }),
      (e: unknown) => e instanceof ApiError && e.status === 409 && e.code === 'CONTAINER_NAME_TAKEN',
    );
    assert.equal(await logLength(), before);
  });

  it('makes concurrent idempotent creates one container, and refuses the key with another body', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.containers.create({ image: 'idem' }, { idempotencyKey: 'pg-key' }),
      ),
    );
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    const before = await logLength();
    await assert.rejects(
      client.containers.create({ image: 'other' }, { idempotencyKey: 'pg-key' }),
      (e: unknown) => e instanceof ApiError && e.status === 422,
    );
    assert.equal(await logLength(), before);
  });

  it('appends nothing for malformed, unknown-field or unauthenticated requests', async () => {
    const before = await logLength();
    for (const [body, auth, status] of [
      ['{"image":', TEST_TOKEN, 400],
      ['{"image":"x","bogus":1}', TEST_TOKEN, 400],
      ['{"image":"x"}', 'wrong', 401],
    ] as const) {
      const res = await fetch(`${url}/v1/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
        body,
      });
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
    assert.equal(await logLength(), before);
  });

  it('streams the log, resumes after a position with exactly the later events, and tails live', async () => {
    const log = await fixture.store.readAll();
    const all = [];
    for await (const e of client.events.stream({ after: 0, follow: false })) all.push(e);
    assert.deepEqual(
      all.map((e) => e.metadata.eventId),
      log.map((e) => e.metadata.eventId),
    );
    const third = log[2]!.metadata.position;
    const later = [];
    for await (const e of client.events.stream({ after: third, follow: false })) later.push(e);
    assert.deepEqual(
      later.map((e) => e.metadata.eventId),
      log.slice(3).map((e) => e.metadata.eventId),
    );

    const abort = new AbortController();
    const live: string[] = [];
    const following = (async () => {
      for await (const e of client.events.stream({ container: 'tailed', signal: abort.signal })) {
        live.push(e.type);
        if (live.length === 2) abort.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await client.containers.create({ name: 'tailed', image: 'x' });
    await following;
    assert.deepEqual(live, ['ContainerNameReserved', 'ContainerRequested']);
  });

  it('is ready while PostgreSQL answers', async () => {
    const health = await client.health();
    assert.equal(health.ready, true);
    assert.deepEqual(health.checks, { postgres: { ok: true } });
  });
});
