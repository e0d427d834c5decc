// The platform end to end, as a user drives it: `lxr up`, `lxr create`, the event in PostgreSQL and
// on JetStream exactly once, `lxr events`, `lxr ps`, faults, `lxr down`. Root only (PostgreSQL is run
// as its own user, which needs root to arrange).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ComposeStatus } from '@lxr/docker-free-compose';
import { createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import { containerStream, type RecordedEvent } from '@lxr/events';
import { eventually, requiresRoot, startRegistry, type TestRegistry } from '@lxr/testkit';
import { jetStreamEvents } from './jetstream.js';
import { alive, createSuite, pushBusybox, type Suite } from './suite.js';

const skip = requiresRoot();

describe('lxr end to end', { skip, timeout: 300_000 }, () => {
  let suite: Suite;
  let registry: TestRegistry;
  // A real image on a loopback registry: containers really run, so the log's facts are checked
  // against a live platform rather than one racing a pull that cannot succeed.
  let image: string;

  before(async () => {
    registry = await startRegistry();
    image = await pushBusybox(registry, 'e2e/busybox');
    suite = await createSuite();
    const started = Date.now();
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);
    console.log(`# lxr up took ${Date.now() - started} ms`);
  });
  after(async () => {
    await suite?.dispose();
    await registry?.dispose();
  });

  const status = async (): Promise<ComposeStatus> => {
    const result = await suite.lxr('status', '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ComposeStatus;
  };
  const pidOf = async (service: string): Promise<number> => {
    const pid = (await status()).services.find((s) => s.name === service)?.pid;
    assert.ok(pid, `${service} has a pid`);
    return pid;
  };
  const relayed = (events: RecordedEvent[], type: string) => events.filter((e) => e.type === type);
  const withStore = async <T>(use: (store: PostgresEventStore) => Promise<T>): Promise<T> => {
    const store = createPostgresEventStore({ connectionString: await suite.databaseUrl() });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  /** Creates a container, retrying with one Idempotency-Key until the API answers, so at most once. */
  const createRetrying = async (name: string): Promise<string> => {
    const client = await suite.client();
    const idempotencyKey = randomUUID();
    for (;;) {
      try {
        return (await client.containers.create({ name, image, ide: false }, { idempotencyKey })).id;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  /** Waits for the ContainerRequested of every container in `ids` on JetStream, then checks each is there once. */
  const assertRelayedOnce = async (what: string, ids: readonly string[], timeoutMs?: number) => {
    const onBus = await eventually(
      what,
      async () => {
        const events = relayed(await jetStreamEvents(await suite.natsUrl()), 'ContainerRequested');
        return ids.every((id) => events.some((e) => e.metadata.correlationId === id)) ? events : undefined;
      },
      timeoutMs,
    );
    for (const id of ids) {
      assert.equal(onBus.filter((e) => e.metadata.correlationId === id).length, 1, `${id} once on JetStream`);
    }
  };

  it('brings nats-server, PostgreSQL, the gateway and the five services up healthy', async () => {
    const { services } = await status();
    assert.deepEqual(services.map((s) => s.name).sort(), [
      'api-gateway',
      'executor',
      'ide-launcher',
      'image-puller',
      'nats',
      'network-allocator',
      'postgres',
      'rootfs-builder',
    ]);
    for (const service of services) assert.equal(service.state, 'ready', `${service.name} is ready`);
    const nodes = await (await suite.client()).nodes.list();
    assert.ok(
      nodes.some((n) => n.name === 'e2e-node' && n.alive),
      'the node agent is alive in the registry',
    );
  });

  it('lxr create records ContainerRequested once: in PostgreSQL, on JetStream, in lxr events and lxr ps', async () => {
    const created = await suite.lxr('create', '--name', 'demo', image);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    // The executor appends the container's life (started, exited) to the same stream after it.
    const stream = await withStore((store) => store.readStream(containerStream(id)));
    assert.equal(stream[0]?.type, 'ContainerRequested');
    assert.equal(stream.filter((e) => e.type === 'ContainerRequested').length, 1);
    const eventId = stream[0]!.metadata.eventId;
    const onBus = await eventually('the event on JetStream', async () => {
      const events = relayed(await jetStreamEvents(await suite.natsUrl()), 'ContainerRequested');
      return events.some((e) => e.metadata.eventId === eventId) ? events : undefined;
    });
    assert.equal(onBus.filter((e) => e.metadata.eventId === eventId).length, 1, 'exactly once on JetStream');

    const events = suite.spawnLxr('events', '--since', '0', '--format', 'json');
    let output = '';
    events.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await eventually('lxr events to stream the event', async () =>
        output.includes(`"ContainerRequested"`) && output.includes(id) ? true : undefined,
      );
    } finally {
      events.kill('SIGINT');
    }
    const line = output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RecordedEvent)
      .find((e) => e.type === 'ContainerRequested');
    assert.equal(line?.metadata.correlationId, id);

    const ps = await suite.lxr('ps', '--format', 'json');
    assert.equal(ps.code, 0, ps.stderr);
    const rows = ps.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; name: string });
    const row = rows.find((r) => r.id === id && r.name === 'demo');
    assert.ok(row, `lxr ps lists ${id}: ${ps.stdout}`);
  });

  it('the network-allocator gives it an address: lxr ps shows its IP and namespace, lxr network inspect lists it', async () => {
    const row = await eventually('lxr ps to show an IP for demo', async () => {
      const ps = await suite.lxr('ps', '--format', 'json');
      const found = ps.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; name: string; ip: string | null; netns: string | null })
        .find((r) => r.name === 'demo');
      return found?.ip ? { ...found, ip: found.ip } : undefined;
    });
    assert.ok(row.netns?.startsWith(suite.env['LXR_NETNS_PREFIX']!), `netns ${row.netns}`);
    const pool = suite.env['LXR_NETWORK_POOL']!.split('.').slice(0, 2).join('.');
    assert.ok(row.ip.startsWith(`${pool}.`), `${row.ip} is in ${suite.env['LXR_NETWORK_POOL']}`);
    const inspect = await suite.lxr('network', 'inspect');
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, new RegExp(`^POOL ${suite.env['LXR_NETWORK_POOL']!.replace(/\./g, '\\.')}`));
    assert.match(
      inspect.stdout,
      new RegExp(`${row.id.slice(0, 12)} +demo +e2e-node +${row.ip.replace(/\./g, '\\.')}`),
    );
  });

  it('a name already taken is refused with a clear error', async () => {
    const again = await suite.lxr('create', '--name', 'demo', image);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /demo/);
  });

  it('a gateway killed with SIGKILL mid-burst loses nothing and doubles nothing', async () => {
    const gateway = await pidOf('api-gateway');
    const creating = Promise.all(Array.from({ length: 40 }, (_, i) => createRetrying(`burst-${i}`)));
    await new Promise((r) => setTimeout(r, 50));
    process.kill(gateway, 'SIGKILL');
    const ids = await creating;
    assert.equal(new Set(ids).size, 40);
    await eventually('the supervisor to restart the gateway', async () => {
      const s = (await status()).services.find((x) => x.name === 'api-gateway');
      return s?.state === 'ready' && s.pid !== gateway ? true : undefined;
    });

    await withStore(async (store) => {
      for (const id of ids) {
        const stream = await store.readStream(containerStream(id));
        assert.deepEqual(
          stream.filter((e) => e.type === 'ContainerRequested').map((e) => e.metadata.correlationId),
          [id],
          `container ${id} requested once`,
        );
      }
    });
    await assertRelayedOnce('every burst event on JetStream', ids);
    // They ran and exited by now: `ps -a` lists them.
    const listed = await (await suite.client()).containers.list({ all: true });
    for (const id of ids)
      assert.ok(
        listed.some((c) => c.id === id),
        `${id} listed`,
      );
  });

  it('NATS and PostgreSQL restarted under load: services reconnect and the relay catches up', async () => {
    const ids: string[] = [];
    for (const service of ['nats', 'postgres']) {
      const pid = await pidOf(service);
      const load = Promise.all(
        Array.from({ length: 10 }, (_, i) => createRetrying(`under-${service}-restart-${i}`)),
      );
      process.kill(pid, 'SIGKILL');
      ids.push(...(await load));
    }
    assert.equal(ids.length, 20);

    await eventually(
      'every service ready again',
      async () => ((await status()).services.every((s) => s.state === 'ready') ? true : undefined),
      60_000,
    );
    await assertRelayedOnce('the relay to catch up', ids, 60_000);
  });

  it('lxr rm removes a container and releases its name', async () => {
    // demo is a development container, up until stopped: removing it takes -f, as with docker.
    const rm = await suite.lxr('rm', '-f', 'demo');
    assert.equal(rm.code, 0, rm.stderr);
    const ps = await suite.lxr('ps', '-a', '--format', 'json');
    assert.ok(!ps.stdout.includes('"demo"'));
    const again = await suite.lxr('create', '--name', 'demo', image);
    assert.equal(again.code, 0, again.stderr);
  });

  it('lxr down stops everything and leaves no process', async () => {
    const pids = (await status()).services.map((s) => s.pid).filter((p): p is number => p !== null);
    assert.ok(pids.length >= 8);
    const down = await suite.lxr('down');
    assert.equal(down.code, 0, down.stderr);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`);
    const after = await suite.lxr('status');
    assert.notEqual(after.code, 0, 'lxr status reports lxr is not running');
  });
});
