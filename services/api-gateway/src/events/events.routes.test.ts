import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { parseRecordedEvent } from '@lxr/events';
import { createTestApp, parseSse, TEST_TOKEN, type TestApp } from '../testing/test-app.js';

async function seed(t: TestApp): Promise<{ a: string; b: string }> {
  const a = (await t.create({ name: 'alpha', image: 'x' })).json().id;
  const b = (await t.create({ name: 'beta', image: 'y' })).json().id;
  await t.request({ method: 'DELETE', url: '/v1/containers/alpha' });
  return { a, b };
}

const read = async (t: TestApp, query: string, headers: Record<string, string> = {}) => {
  const res = await t.request({ method: 'GET', url: `/v1/events?follow=false${query}`, headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  return parseSse(res.body);
};

describe('GET /v1/events', () => {
  it('streams every recorded event with its type, position and JSON', async () => {
    const t = await createTestApp();
    await seed(t);
    const events = await read(t, '&after=0');
    const log = await t.store.readAll();
    assert.deepEqual(
      events.map((e) => e.event),
      log.map((e) => e.type),
    );
    assert.deepEqual(
      events.map((e) => e.id),
      log.map((e) => String(e.metadata.position)),
    );
    for (const [i, e] of events.entries()) assert.deepEqual(parseRecordedEvent(JSON.parse(e.data)), log[i]);
  });

  it('filters by container (id, name or prefix) and by type', async () => {
    const t = await createTestApp();
    const { a, b } = await seed(t);
    const types = (events: { event?: string }[]) => events.map((e) => e.event);
    const aEvents = [
      'ContainerNameReserved',
      'ContainerRequested',
      'ContainerRemoved',
      'ContainerNameReleased',
    ];
    assert.deepEqual(types(await read(t, `&container=${a}`)), aEvents);
    assert.deepEqual(
      types(await read(t, '&container=alpha')),
      aEvents,
      'a removed container is found by its name',
    );
    assert.deepEqual(types(await read(t, `&container=${b.slice(0, 10)}`)), [
      'ContainerNameReserved',
      'ContainerRequested',
    ]);
    assert.deepEqual(types(await read(t, '&type=ContainerRequested')), [
      'ContainerRequested',
      'ContainerRequested',
    ]);
    assert.deepEqual(types(await read(t, '&type=ContainerRemoved,ContainerNameReleased&container=beta')), []);
  });

  it('resumes after Last-Event-ID (or ?after=) with exactly the later events', async () => {
    const t = await createTestApp();
    await seed(t);
    const all = await read(t, '');
    const third = all[2]!.id!;
    const expected = all.slice(3).map((e) => e.id);
    assert.deepEqual(
      (await read(t, '', { 'last-event-id': third })).map((e) => e.id),
      expected,
    );
    assert.deepEqual(
      (await read(t, `&after=${third}`)).map((e) => e.id),
      expected,
    );
    assert.deepEqual(
      (await read(t, '&after=0', { 'last-event-id': third })).map((e) => e.id),
      expected,
      'the header wins over the query, as EventSource reconnects keep the URL',
    );
  });

  it('skips the recorded events with live=true, sending the current position as the id', async () => {
    const t = await createTestApp();
    await seed(t);
    const last = (await t.store.readAll()).at(-1)!.metadata.position;
    const res = await t.request({ method: 'GET', url: '/v1/events?follow=false&live=true' });
    assert.deepEqual(await parseSse(res.body), []);
    assert.match(res.body, new RegExp(`^: live\nid: ${last}\n\n`, 'm'));
  });

  it('answers 400 for a cursor that is not in the log', async () => {
    const t = await createTestApp();
    await seed(t);
    const res = await t.request({ method: 'GET', url: '/v1/events?after=999' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'INVALID_CURSOR');
  });

  it('tails the log live, with heartbeats, and ends cleanly when the app closes', async () => {
    const t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/v1/events?container=live`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (predicate: (s: string) => boolean) => {
      while (!predicate(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += value;
      }
      return true;
    };
    assert.ok(await until((s) => s.includes(': keep-alive')), 'a heartbeat comment');
    await t.create({ name: 'other', image: 'x' });
    await t.create({ name: 'live', image: 'x' });
    assert.ok(await until((s) => s.includes('event: ContainerRequested')));
    assert.deepEqual(
      (await parseSse(text)).map((e) => JSON.parse(e.data).data.name),
      ['live', 'live'],
    );
    const closing = t.app.close();
    assert.equal(await until(() => false), false, 'the stream ends');
    await closing;
  });
});
