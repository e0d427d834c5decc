import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, type NatsServer, startNats, waitFor } from '@lxr/testkit';
import { connect, type NatsConnection } from 'nats';
import { field } from './config.js';
import { ConfigError, type ServiceError, ServiceKitErrorCode } from './errors.js';
import { listNodes } from './nodes.js';
import { EXIT_CONFIG, type RunningService, startService } from './service.js';

const fixture = fileURLToPath(new URL('./service.fixture.js', import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly logs: Record<string, unknown>[];
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runFixture(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [fixture], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Child = {
    process: child,
    logs: [],
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.trim()) result.logs.push(JSON.parse(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString();
  });
  return result;
}

const status = (url: string) =>
  fetch(url).then(
    (r) => r.status,
    () => 0,
  );

describe('runService in a child process', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const children: Child[] = [];
  before(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
  });
  afterEach(() => {
    for (const child of children.splice(0))
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });
  after(async () => {
    await nc?.close();
    await server?.dispose();
  });

  /** Runs the fixture as `node` and waits until it is ready. */
  const start = async (node: string, extra: Record<string, string> = {}, natsUrl = server.url) => {
    const healthPort = await freePort();
    const child = runFixture({
      LXR_NATS_URL: natsUrl,
      LXR_NODE_NAME: node,
      LXR_HEALTH_PORT: String(healthPort),
      LXR_LOG_LEVEL: 'info',
      ...extra,
    });
    children.push(child);
    const base = `http://127.0.0.1:${healthPort}`;
    await waitFor(async () => (await status(`${base}/readyz`)) === 200, 'the fixture to be ready', 15_000);
    return { child, base };
  };

  it('serves health, heartbeats, and on SIGTERM shuts down in order and exits 0', async () => {
    const { child, base } = await start('node-term');
    assert.equal(await status(`${base}/healthz`), 200);
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, unknown> };
    assert.deepEqual(Object.keys(ready.checks).sort(), ['fixture', 'nats', 'started']);
    const node = (await listNodes(nc)).find((n) => n.node === 'node-term');
    assert.ok(node?.alive, 'the node is alive while its executor runs');
    assert.equal(node.services[0]?.version, '9.9.9');
    assert.equal(node.services[0]?.pid, child.process.pid);
    assert.equal(
      await nc
        .request('lxr.fixture.ping', new TextEncoder().encode('{}'))
        .then((m) => m.json<{ result: string }>().result),
      'pong',
    );

    child.process.kill('SIGTERM');
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr);
    assert.equal(
      (await listNodes(nc)).find((n) => n.node === 'node-term'),
      undefined,
      'heartbeat deleted',
    );

    const messages = child.logs.map((l) => (l['hook'] ? `hook ${l['hook']}` : String(l['msg'])));
    const order = [
      'shutting down',
      'hook stop',
      'subscription drained',
      'hook shutdown',
      'bus closed',
      'stopped',
    ];
    const positions = order.map((m) => messages.indexOf(m));
    assert.ok(
      positions.every((p) => p >= 0),
      `all shutdown steps logged: ${messages.join(' | ')}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      `in order: ${messages.join(' | ')}`,
    );
    assert.ok(child.logs.every((l) => l['service'] === 'executor' && l['node'] === 'node-term'));
  });

  it('leaves a heartbeat that goes stale and then expires after the TTL when killed', async () => {
    // Its own server, so the fixture creates lxr_nodes with a 2 s TTL.
    const own = await startNats();
    const ownNc = await connect({ servers: own.url });
    try {
      const { child } = await start(
        'node-kill',
        { FIXTURE_HEARTBEAT_TTL_MS: '2000', FIXTURE_HEARTBEAT_INTERVAL_MS: '500' },
        own.url,
      );
      const find = async () =>
        (await listNodes(ownNc, { staleAfterMs: 2_000 })).find((n) => n.node === 'node-kill');
      assert.equal((await find())?.alive, true);
      child.process.kill('SIGKILL');
      await child.exited;
      assert.ok(await find(), 'still listed right after the kill');
      await waitFor(async () => (await find())?.alive !== true, 'node-kill to go stale', 10_000);
      await waitFor(async () => (await find()) === undefined, 'the heartbeat to expire', 10_000);
    } finally {
      await ownNc.close();
      await own.dispose();
    }
  });

  it('exits 78 listing every bad variable', async () => {
    const child = runFixture({
      LXR_NATS_URL: server.url,
      LXR_HEALTH_PORT: 'abc',
      LXR_LOG_LEVEL: 'loud',
      FIXTURE_MODE: 'maybe',
    });
    children.push(child);
    const { code } = await child.exited;
    assert.equal(code, EXIT_CONFIG);
    for (const variable of ['LXR_HEALTH_PORT', 'LXR_LOG_LEVEL', 'FIXTURE_MODE'])
      assert.match(child.stderr, new RegExp(variable));
    const fatal = child.logs.find((l) => l['level'] === 'fatal');
    assert.equal((fatal?.['err'] as { code?: string })?.code, 'CONFIG_INVALID');
  });

  it('exits 1 when start fails, leaving no heartbeat', async () => {
    const child = runFixture({
      LXR_NATS_URL: server.url,
      LXR_NODE_NAME: 'node-fail',
      FIXTURE_MODE: 'fail-start',
    });
    children.push(child);
    const { code } = await child.exited;
    assert.equal(code, 1);
    assert.match(child.stderr, /fixture refuses to start/);
    assert.equal(
      (await listNodes(nc)).find((n) => n.node === 'node-fail'),
      undefined,
    );
  });
});

describe('startService in process', () => {
  let server: NatsServer;
  const env = () => ({
    LXR_NATS_URL: server.url,
    LXR_NODE_NAME: 'node-in',
    LXR_LOG_LEVEL: 'silent' as const,
  });
  let running: RunningService | undefined;
  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await running?.shutdown().catch(() => {});
    await server?.dispose();
  });

  it('hands start() a typed context and runs hooks on shutdown', async () => {
    const calls: string[] = [];
    running = await startService(
      {
        name: 'ide-launcher',
        perNode: false,
        config: { idePort: field.port('T_IDE_PORT', { default: 8443 }) },
        start(ctx) {
          const port: number = ctx.config.idePort;
          calls.push(`start ${port} ${ctx.config.node} ${ctx.nats.isClosed()}`);
          ctx.signal.addEventListener('abort', () => calls.push('aborted'));
          ctx.onStop('a', () => void calls.push('stop a'));
          ctx.onStop('b', () => void calls.push('stop b'));
          ctx.onShutdown('c', () => void calls.push('shutdown c'));
        },
      },
      { env: env() },
    );
    assert.equal(running.healthPort, undefined, 'health server off by default');
    await running.shutdown('test');
    await running.shutdown('again');
    assert.deepEqual(calls, ['start 8443 node-in false', 'aborted', 'stop b', 'stop a', 'shutdown c']);
    assert.equal(running.context.nats.isClosed(), true);
    running = undefined;
  });

  it('throws one ConfigError for common and service variables together', async () => {
    await assert.rejects(
      startService(
        { name: 'x', perNode: false, config: { n: field.integer('T_N') }, start() {} },
        { env: { LXR_HEALTH_PORT: '-1' } },
      ),
      (e: ConfigError) =>
        e instanceof ConfigError && e.issues.map((i) => i.variable).join() === 'LXR_HEALTH_PORT,T_N',
    );
  });

  it('wraps a failing start() and cleans up', async () => {
    let stopped = false;
    await assert.rejects(
      startService(
        {
          name: 'rootfs-builder',
          perNode: true,
          start(ctx) {
            ctx.onShutdown('cleanup', () => {
              stopped = true;
            });
            throw new Error('no overlayfs');
          },
        },
        { env: env() },
      ),
      (e: ServiceError) =>
        e.code === ServiceKitErrorCode.StartFailed && (e.cause as Error).message === 'no overlayfs',
    );
    assert.equal(stopped, true);
    const nc = await connect({ servers: server.url });
    try {
      assert.equal(
        (await listNodes(nc)).find((n) => n.node === 'node-in'),
        undefined,
      );
    } finally {
      await nc.close();
    }
  });

  it('gives up on a stuck shutdown at the deadline', async () => {
    const service = await startService(
      {
        name: 'network-allocator',
        perNode: true,
        shutdownTimeoutMs: 300,
        start(ctx) {
          ctx.onStop('stuck', () => new Promise(() => {}));
        },
      },
      { env: env() },
    );
    await assert.rejects(
      service.shutdown(),
      (e: ServiceError) =>
        e.code === ServiceKitErrorCode.ShutdownTimeout && /stuck at "stop: stuck"/.test(e.message),
    );
    await service.context.nats.close();
  });
});
