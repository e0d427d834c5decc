import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInMemoryEventStore } from '@lxr/event-store';
import { containerIdForIdempotencyKey, type RecordedEvent } from '@lxr/events';
import { createRecordingTracer } from '@lxr/telemetry/testing';
import { staticNodeDirectory } from '../nodes/node-directory.js';
import { createTestApp, liveNode, type TestApp } from '../testing/test-app.js';

/** How many containers the log records as requested. */
const requestedCount = async (t: TestApp) =>
  (await t.log()).filter((e) => e.type === 'ContainerRequested').length;

describe('containers routes', () => {
  it('records its events in the trace of the request: a creation is one trace', async () => {
    const recording = createRecordingTracer();
    const t = await createTestApp({ tracer: recording.tracer });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const created = await t.create(
      { name: 'traced', image: 'golang' },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    assert.equal(created.statusCode, 201, created.body);
    const [span] = recording.spans();
    assert.equal(span?.name, 'POST /v1/containers');
    assert.equal(span?.traceId, traceId);
    const events = (await t.log()) as readonly RecordedEvent[];
    assert.ok(events.length > 0);
    for (const event of events) {
      assert.equal(
        event.metadata.traceparent,
        `00-${traceId}-${span?.spanId}-01`,
        `${event.type} is in the trace`,
      );
    }
  });

  it('creates, lists, gets and removes a container', async () => {
    const t = await createTestApp();
    const created = await t.create({ name: 'goCon', image: 'golang' });
    assert.equal(created.statusCode, 201, created.body);
    const container = created.json();
    assert.match(container.id, /^[0-9a-f]{64}$/);
    assert.equal(container.name, 'goCon');
    assert.equal(container.node, 'node-1');
    assert.equal(container.state, 'requested');
    assert.equal(container.ide, true);
    assert.equal(created.headers.location, `/v1/containers/${container.id}`);

    const list = await t.request({ method: 'GET', url: '/v1/containers' });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json().map((c: { name: string }) => c.name),
      ['goCon'],
    );

    for (const ref of [container.id, 'goCon', container.id.slice(0, 6)]) {
      const got = await t.request({ method: 'GET', url: `/v1/containers/${ref}` });
      assert.equal(got.statusCode, 200, got.body);
      assert.equal(got.json().id, container.id);
      assert.deepEqual(
        got.json().events.map((e: { type: string }) => e.type),
        ['ContainerRequested'],
      );
    }

    const removed = await t.request({ method: 'DELETE', url: '/v1/containers/goCon' });
    assert.equal(removed.statusCode, 200, removed.body);
    assert.deepEqual(removed.json(), { id: container.id, name: 'goCon' });
    const again = await t.request({ method: 'DELETE', url: '/v1/containers/goCon' });
    assert.equal(again.statusCode, 404);
    assert.equal(again.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(again.json().code, 'CONTAINER_NOT_FOUND');
    assert.match(again.json().detail, /goCon/);
    assert.equal((await t.request({ method: 'GET', url: `/v1/containers/${container.id}` })).statusCode, 404);
    assert.deepEqual(
      (await t.log()).map((e) => e.type),
      ['ContainerNameReserved', 'ContainerRequested', 'ContainerRemoved', 'ContainerNameReleased'],
    );
  });

  it('generates a docker-style name and fills in the defaults', async () => {
    const t = await createTestApp();
    const res = await t.create({
      image: 'busybox',
      command: ['sleep', '1'],
      env: ['A=1'],
      labels: { team: 'x' },
      ide: false,
    });
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json();
    assert.match(c.name, /^[a-z]+_[a-z]+$/);
    assert.deepEqual(
      [c.command, c.env, c.labels, c.ide, c.resources],
      [['sleep', '1'], ['A=1'], { team: 'x' }, false, {}],
    );
    assert.equal(c.pid, null);
  });

  it("gives a development container's /workspace a named volume that outlives it, unless -v says otherwise", async () => {
    const t = await createTestApp();
    const requested = async () =>
      ((await t.log()) as readonly RecordedEvent[]).findLast((e) => e.type === 'ContainerRequested')!
        .data as Record<string, unknown>;
    assert.equal(
      (await t.create({ name: 'goCon', image: 'golang', volumes: [{ destination: '/cache' }] })).statusCode,
      201,
    );
    assert.deepEqual((await requested())['volumes'], [
      { source: 'goCon-workspace', destination: '/workspace' },
      { destination: '/cache' },
    ]);
    await t.create({
      name: 'mine',
      image: 'golang',
      volumes: [{ source: '/src', destination: '/workspace' }],
    });
    assert.deepEqual((await requested())['volumes'], [{ source: '/src', destination: '/workspace' }]);
    await t.create({ name: 'plain', image: 'busybox', ide: false });
    assert.equal((await requested())['volumes'], undefined);
  });

  it('refuses volumes a container could never get, as docker checks -v at create, recording nothing', async () => {
    const t = await createTestApp();
    for (const [volumes, pointer, message] of [
      [
        [{ source: '/', destination: '/host', readOnly: true }],
        '/volumes/0',
        /"-v \/:\/host:ro": binding the host's root/,
      ],
      [[{ destination: '/a' }, { source: 'v', destination: '/a' }], '/volumes/1', /already mounted at \/a/],
      [[{ destination: '/proc/x' }], '/volumes/0', /kernel filesystems/],
      [[{ destination: '/a/../b' }], '/volumes/0', /absolute and normalised/],
    ] as const) {
      const res = await t.create({ name: 'bad', image: 'busybox', volumes });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'INVALID_REQUEST');
      assert.match(res.json().detail, message);
      assert.equal(res.json().errors[0].pointer, pointer);
    }
    assert.equal(await requestedCount(t), 0);
  });

  it('records docker rm -v (volumes=true) in ContainerRemoved, so anonymous volumes go too', async () => {
    const t = await createTestApp();
    await t.create({ name: 'a', image: 'busybox' });
    await t.create({ name: 'b', image: 'busybox' });
    assert.equal(
      (await t.request({ method: 'DELETE', url: '/v1/containers/a?volumes=true' })).statusCode,
      200,
    );
    assert.equal((await t.request({ method: 'DELETE', url: '/v1/containers/b' })).statusCode, 200);
    const removed = ((await t.log()) as readonly RecordedEvent[])
      .filter((e) => e.type === 'ContainerRemoved')
      .map((e) => e.data as { name: string; volumes?: boolean });
    assert.deepEqual(
      removed.map((d) => [d.name, d.volumes]),
      [
        ['a', true],
        ['b', undefined],
      ],
    );
  });

  it('records the run options in ContainerRequested, and refuses malformed ones', async () => {
    const t = await createTestApp();
    const options = {
      entrypoint: ['/bin/sh', '-c'],
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }],
      ip: '10.88.0.9',
      user: '1000:1000',
      workingDir: '/src',
      hostname: 'box',
      tty: true,
      openStdin: true,
      autoRemove: true,
      restartPolicy: { name: 'on-failure', maximumRetryCount: 2 },
    };
    const res = await t.create({ image: 'busybox', ...options });
    assert.equal(res.statusCode, 201, res.body);
    const recorded = (await t.log()).findLast((e) => e.type === 'ContainerRequested') as
      | { data: Record<string, unknown> }
      | undefined;
    assert.ok(recorded);
    assert.deepEqual(Object.fromEntries(Object.keys(options).map((k) => [k, recorded.data[k]])), options);
    for (const [field, value] of [
      ['ports', [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }]],
      ['ip', '10.88.0.256'],
      ['workingDir', 'relative'],
      ['restartPolicy', { name: 'sometimes' }],
    ] as const) {
      const bad = await t.create({ image: 'busybox', [field]: value });
      assert.equal(bad.statusCode, 400, `${field}: ${bad.body}`);
      assert.match(bad.json().errors[0].pointer, new RegExp(`^/${field}`));
    }
  });

  it('refuses a taken name with 409 and appends nothing', async () => {
    const t = await createTestApp();
    await t.create({ name: 'web', image: 'nginx' });
    const before = (await t.log()).length;
    const res = await t.create({ name: 'web', image: 'redis' });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'CONTAINER_NAME_TAKEN');
    assert.equal(res.json().errors[0].pointer, '/name');
    assert.equal((await t.log()).length, before);
  });

  it('lets a name be reused once its container is removed', async () => {
    const t = await createTestApp();
    await t.create({ name: 'web', image: 'nginx' });
    await t.request({ method: 'DELETE', url: '/v1/containers/web' });
    const res = await t.create({ name: 'web', image: 'nginx' });
    assert.equal(res.statusCode, 201, res.body);
  });

  it('gives one name to one of many concurrent creates', async () => {
    const t = await createTestApp();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => t.create({ name: 'race', image: 'x' })),
    );
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
    assert.equal(await requestedCount(t), 1);
  });

  it('replays an idempotent create and refuses the key with another body', async () => {
    const t = await createTestApp();
    const headers = { 'idempotency-key': 'req-42' };
    const body = { image: 'golang', labels: { a: 'b' } };
    const first = await t.create(body, headers);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().id, containerIdForIdempotencyKey('req-42'));
    // The same request, with its defaults spelt out and its keys in another order.
    const replay = await t.create({ labels: { a: 'b' }, ide: true, image: 'golang' }, headers);
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json().id, first.json().id);
    assert.equal(replay.json().name, first.json().name, 'the generated name is not generated again');
    const before = (await t.log()).length;
    const mismatch = await t.create({ image: 'rust' }, headers);
    assert.equal(mismatch.statusCode, 422);
    assert.equal(mismatch.json().code, 'IDEMPOTENCY_KEY_MISMATCH');
    assert.equal((await t.log()).length, before);
    assert.equal(await requestedCount(t), 1);
  });

  it('answers concurrent retries of one idempotent create with one container', async () => {
    const t = await createTestApp();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.create({ image: 'x' }, { 'idempotency-key': 'k' })),
    );
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(results.map((r) => r.json().id)).size, 1);
    assert.equal(await requestedCount(t), 1);
  });

  it('answers 503 naming the missing node agent when none is alive', async () => {
    const t = await createTestApp({ nodes: staticNodeDirectory([{ ...liveNode('n'), alive: false }]) });
    const res = await t.create({ image: 'x' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'NO_NODE_AVAILABLE');
    assert.match(res.json().detail, /no node agent is running/);
    assert.equal((await t.log()).length, 0);
  });

  it('places on the requested node, and refuses a dead one', async () => {
    const nodes = staticNodeDirectory([liveNode('a'), liveNode('b'), { ...liveNode('c'), alive: false }]);
    const t = await createTestApp({ nodes });
    const res = await t.create({ image: 'x', node: 'b' });
    assert.equal(res.json().node, 'b');
    const dead = await t.create({ image: 'x', node: 'c' });
    assert.equal(dead.statusCode, 503);
    assert.equal(dead.json().code, 'NODE_NOT_ALIVE');
    const unknown = await t.create({ image: 'x', node: 'zz' });
    assert.equal(unknown.statusCode, 422);
  });

  it('answers 503 when NATS or PostgreSQL cannot be reached', async () => {
    const nodes = { list: async () => Promise.reject(new Error('CONNECTION_REFUSED')) };
    const t = await createTestApp({ nodes });
    const res = await t.create({ image: 'x' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'NOT_READY');
    assert.match(res.json().detail, /lxr_nodes.*CONNECTION_REFUSED/);
    assert.equal((await t.request({ method: 'GET', url: '/v1/nodes' })).statusCode, 503);

    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7432'), { code: 'ECONNREFUSED' });
    const store = createInMemoryEventStore();
    store.readStream = async () => Promise.reject(down);
    const pgDown = await createTestApp({ store });
    const failed = await pgDown.create({ image: 'x' });
    assert.equal(failed.statusCode, 503);
    assert.equal(failed.json().code, 'NOT_READY');
  });

  it('filters the list', async () => {
    const t = await createTestApp();
    await t.create({ name: 'a1', image: 'nginx', labels: { env: 'prod' } });
    await t.create({ name: 'b1', image: 'redis' });
    const names = async (query: string) =>
      (await t.request({ method: 'GET', url: `/v1/containers?${query}` }))
        .json()
        .map((c: { name: string }) => c.name);
    assert.deepEqual(await names('all=true'), ['b1', 'a1']);
    assert.deepEqual(await names('image=redis'), ['b1']);
    assert.deepEqual(await names('label=env=prod'), ['a1']);
    assert.deepEqual(await names('label=env'), ['a1']);
    assert.deepEqual(await names('name=1&label=env=dev'), []);
  });

  it('refuses an ambiguous id prefix with 409', async () => {
    let n = 0;
    const ids = ['abc1' + '0'.repeat(60), 'abc2' + '0'.repeat(60)];
    const t = await createTestApp({ ids: { containerId: () => ids[n++]! } });
    await t.create({ image: 'x' });
    await t.create({ image: 'x' });
    const res = await t.request({ method: 'DELETE', url: '/v1/containers/abc' });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'CONTAINER_AMBIGUOUS');
    assert.equal((await t.request({ method: 'GET', url: '/v1/containers/abc2' })).statusCode, 200);
  });
});
