import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError, createClient, readToken } from '@lxr/client';
import { EVENTS_STREAM } from '@lxr/events';
import { type Heartbeat, startHeartbeat } from '@lxr/service-kit';
import { freePort, type NatsServer, type PostgresServer, startNats, startPostgres } from '@lxr/testkit';
import { connect, type NatsConnection } from 'nats';

// The real process: main.ts with PostgreSQL and NATS, as docker-free-compose starts it.
let pg: PostgresServer;
let natsServer: NatsServer;
let nc: NatsConnection;
let gateway: ChildProcess;
let home: string;
let url: string;
let output = '';
let heartbeat: Heartbeat | undefined;

before(async () => {
  [pg, natsServer] = await Promise.all([startPostgres({ fsync: false }), startNats()]);
  nc = await connect({ servers: natsServer.url });
  home = path.join(await mkdtemp(path.join(tmpdir(), 'lxr-gw-')), 'home');
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  gateway = spawn(process.execPath, [path.join(import.meta.dirname, 'main.js')], {
    env: {
      ...process.env,
      LXR_HOME: home,
      LXR_API_PORT: String(port),
      LXR_DATABASE_URL: pg.url,
      LXR_NATS_URL: natsServer.url,
      LXR_NODE_NAME: 'gw-node',
      LXR_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gateway.stdout?.on('data', (d) => (output += d));
  gateway.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gateway.exitCode !== null) throw new Error(`gateway exited ${gateway.exitCode}: ${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`gateway not ready in 30 s: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await heartbeat?.stop();
  if (gateway && gateway.exitCode === null) {
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
  }
  await nc?.close();
  await Promise.all([pg?.dispose(), natsServer?.dispose()]);
  if (home) await rm(path.dirname(home), { recursive: true, force: true });
});

describe('api-gateway main', () => {
  it('creates the token file 0600 and requires it', async () => {
    const file = path.join(home, 'api-token');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.notEqual((await stat(home)).mode & 0o001, 0, 'LXR_HOME stays traversable for PostgreSQL');
    const res = await fetch(`${url}/v1/containers`);
    assert.equal(res.status, 401);
  });

  it('answers 503 without a node agent, then creates on the one that heartbeats, and relays to JetStream', async () => {
    const client = createClient({ url, token: await readToken(home, {}) });
    await assert.rejects(
      client.containers.create({ image: 'busybox' }),
      (e: unknown) => e instanceof ApiError && e.status === 503 && /no node agent is running/.test(e.message),
    );
    heartbeat = await startHeartbeat(nc, {
      node: 'node-a',
      service: 'executor',
      version: '1',
      perNode: true,
    });
    assert.deepEqual(
      (await client.nodes.list()).map((n) => [n.name, n.alive]),
      [
        ['gw-node', false], // the gateway's own heartbeat: a node, but no node agent on it
        ['node-a', true],
      ],
    );
    const created = await client.containers.create({ name: 'web', image: 'busybox' });
    assert.equal(created.node, 'node-a');
    assert.deepEqual(
      (await client.containers.list()).map((c) => c.name),
      ['web'],
    );

    // The outbox relay publishes both events to LXR_EVENTS.
    const jsm = await nc.jetstreamManager();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await jsm.streams.info(EVENTS_STREAM);
      if (info.state.messages >= 2) break;
      if (Date.now() > deadline) assert.fail(`events not relayed; stream has ${info.state.messages}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /lxr_events_appended_total\{type="ContainerRequested"\} 1/);
    assert.match(metrics, /lxr_http_requests_total\{method="POST",route="\/v1\/containers",status="201"\} 1/);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    gateway.kill('SIGTERM');
    const code = await new Promise((r) => gateway.once('exit', r));
    assert.equal(code, 0, output);
  });
});
