import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createClient } from './client.js';
import { ApiError, ApiUnreachableError } from './errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const event = (position: number) => ({
  type: 'ContainerRequested',
  schemaVersion: 1,
  data: {},
  metadata: {
    position,
    eventId: `e${position}`,
    stream: 's',
    streamVersion: position,
    correlationId: 'c',
    causationId: null,
    timestamp: 'now',
  },
});

describe('createClient', () => {
  it('sends the token, the body and the idempotency key, and reports replays', async () => {
    const seen: { auth?: string; key?: string; body?: string; url?: string }[] = [];
    const { url } = await serve((req, res, body) => {
      seen.push({
        auth: req.headers.authorization,
        key: req.headers['idempotency-key'] as string,
        body,
        url: req.url,
      });
      res.writeHead(seen.length === 1 ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', name: 'n' }));
    });
    const client = createClient({ url: `${url}/`, token: 't0k' });
    const first = await client.containers.create({ image: 'golang' }, { idempotencyKey: 'k1' });
    const second = await client.containers.create({ image: 'golang' }, { idempotencyKey: 'k1' });
    assert.deepEqual([first.replayed, second.replayed], [false, true]);
    assert.deepEqual(seen[0], {
      auth: 'Bearer t0k',
      key: 'k1',
      body: '{"image":"golang"}',
      url: '/v1/containers',
    });
    await client.containers.list({ all: true, labels: ['a=b', 'c'] });
    assert.equal(seen[2]?.url, '/v1/containers?all=true&label=a%3Db&label=c');
  });

  it('throws ApiError carrying the problem', async () => {
    const problem = {
      type: 'urn:lxr:problem:container-not-found',
      title: 'No such container',
      status: 404,
      detail: 'no such container: web',
      code: 'CONTAINER_NOT_FOUND',
    };
    const { url } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify(problem));
    });
    await assert.rejects(createClient({ url }).containers.get('web'), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual(
        [e.status, e.code, e.message, e.problem.title],
        [404, 'CONTAINER_NOT_FOUND', 'no such container: web', 'No such container'],
      );
      return true;
    });
  });

  it('says how to start lxr when nothing listens', async () => {
    const { url, server } = await serve(() => {});
    server.close();
    await assert.rejects(createClient({ url }).nodes.list(), (e: unknown) => {
      assert.ok(e instanceof ApiUnreachableError);
      assert.match(e.message, /cannot reach the lxr API at .*connection refused.*lxr up/);
      return true;
    });
  });

  it('streams events and reconnects with Last-Event-ID after a drop', async () => {
    const requests: { url?: string; lastEventId?: string }[] = [];
    const { url } = await serve((req, res) => {
      requests.push({ url: req.url, lastEventId: req.headers['last-event-id'] as string | undefined });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (requests.length === 1) {
        res.write('retry: 10\n\n');
        res.write(`id: 1\nevent: ContainerRequested\ndata: ${JSON.stringify(event(1))}\n\n`);
        res.write(': keep-alive\nid: 5\n\n');
        setTimeout(() => res.destroy(), 20); // the connection drops
      } else {
        res.end(`id: 6\nevent: ContainerRequested\ndata: ${JSON.stringify(event(6))}\n\n`);
      }
    });
    const abort = new AbortController();
    const positions: number[] = [];
    for await (const e of createClient({ url }).events.stream({ container: 'web', signal: abort.signal })) {
      positions.push(e.metadata.position);
      if (positions.length === 2) abort.abort();
    }
    assert.deepEqual(positions, [1, 6]);
    assert.deepEqual(requests[0], { url: '/v1/events?container=web', lastEventId: undefined });
    assert.deepEqual(requests[1], { url: '/v1/events?after=5&container=web', lastEventId: '5' });
  });

  it('ends a non-following stream when the server does, and stops on abort', async () => {
    const { url } = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.includes('follow=false')) res.end(`id: 1\ndata: ${JSON.stringify(event(1))}\n\n`);
      else res.write(': open\n\n');
    });
    const client = createClient({ url });
    const got = [];
    for await (const e of client.events.stream({ after: 0, follow: false })) got.push(e);
    assert.equal(got.length, 1);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    for await (const _ of client.events.stream({ signal: abort.signal })) assert.fail('no events');
  });

  it('reports readiness without throwing on 503', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'not ready', checks: { postgres: { ok: false, error: 'down' } } }));
    });
    const health = await createClient({ url }).health();
    assert.equal(health.ready, false);
    assert.equal(health.checks?.['postgres']?.ok, false);
  });
});
