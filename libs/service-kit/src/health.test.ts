import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@lxr/testkit';
import { type HealthServer, startHealthServer } from './health.js';

describe('health server', () => {
  let health: HealthServer;
  let base: string;
  let nats: boolean | string = true;

  before(async () => {
    health = await startHealthServer({
      port: await freePort(),
      service: 'test',
      node: 'node-1',
      checkTimeoutMs: 200,
    });
    base = `http://127.0.0.1:${health.port}`;
    health.addReadinessCheck('nats', () => nats);
  });
  after(() => health.close());

  it('/healthz answers while the process runs', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['status'], 'ok');
    assert.equal(body['service'], 'test');
    assert.equal(body['node'], 'node-1');
  });

  it('/readyz is 200 when every check passes and 503 naming the failing ones', async () => {
    nats = true;
    let res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', checks: { nats: { ok: true } } });

    nats = 'not connected to NATS';
    health.addReadinessCheck('db', async () => {
      throw new Error('connection refused');
    });
    health.addReadinessCheck('slow', () => new Promise<boolean>(() => {}));
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: 'not ready',
      checks: {
        nats: { ok: false, reason: 'not connected to NATS' },
        db: { ok: false, reason: 'connection refused' },
        slow: { ok: false, reason: 'timed out after 200 ms' },
      },
    });
    health.addReadinessCheck('db', () => true);
    health.addReadinessCheck('slow', () => true);
    nats = true;
  });

  it('answers 404 and 405 as JSON, and HEAD without a body', async () => {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${base}/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('/readyz says "shutting down" once shutdown began', async () => {
    health.setShuttingDown();
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: string }).status, 'shutting down');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});

describe('health server turned off', () => {
  it('listens nowhere with port 0 but still evaluates checks', async () => {
    const health = await startHealthServer({ port: 0, service: 'test' });
    assert.equal(health.port, undefined);
    health.addReadinessCheck('x', () => false);
    assert.deepEqual(await health.readiness(), {
      ready: false,
      status: 'not ready',
      checks: { x: { ok: false, reason: 'not ready' } },
    });
    await health.close();
  });

  it('fails clearly when the port is taken', async () => {
    const first = await startHealthServer({ port: await freePort(), service: 'a' });
    try {
      await assert.rejects(
        startHealthServer({ port: first.port!, service: 'b' }),
        (e: Error & { code: string }) =>
          e.code === 'HEALTH_SERVER_FAILED' && /could not listen/.test(e.message),
      );
    } finally {
      await first.close();
    }
  });
});
