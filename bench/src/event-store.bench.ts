import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectBus, type NatsBus } from '@lxr/bus';
import {
  createOutboxRelay,
  createPostgresEventStore,
  type PostgresEventStore,
  RECOMMENDED_POSTGRES_SETTINGS,
} from '@lxr/event-store';
import { EVENTS_STREAM, type EventData, type NewEvent, uuidv7 } from '@lxr/events';
import { type NatsServer, type PostgresServer, startNats, startPostgres } from '@lxr/testkit';
import { type BenchRow, type BenchSection, cpuMeter, formatInt, formatMs, quantile } from './bench.js';

const THROUGHPUT_MS = Number(process.env['LXR_BENCH_THROUGHPUT_MS'] ?? 3_000);
const LATENCY_MS = Number(process.env['LXR_BENCH_LATENCY_MS'] ?? 10_000);
const DRAIN_EVENTS = Number(process.env['LXR_BENCH_DRAIN_EVENTS'] ?? 50_000);
const LATENCY_RATE = 1_000;
const THROUGHPUT_GOAL = 5_000;
const P99_GOAL_MS = 10;
/** `inline` runs the relay in the bench's process (and reports its stages); default: its own process. */
const RELAY_INLINE = process.env['LXR_BENCH_RELAY'] === 'inline';

/** A `ContainerRequested` of typical size: the bus publishes catalogued event types only. */
function newEvent(i: number, eventId?: string): NewEvent {
  const data: EventData<'ContainerRequested'> = {
    containerId: 'be'.repeat(32),
    name: `bench-${i}`,
    image: 'golang:1.23',
    node: 'node-1',
    env: ['BENCH=1'],
    labels: { app: 'bench', tier: 'x' },
    ide: false,
    resources: {},
  };
  return {
    type: 'ContainerRequested',
    data,
    correlationId: 'bench',
    ...(eventId === undefined ? {} : { eventId }),
  };
}

/** The relay in a child process (`relay-process.ts`), as a service would run it. */
function relayProcess(pgUrl: string, natsUrl: string): { start(): Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  return {
    async start() {
      child = spawn(process.execPath, [fileURLToPath(new URL('./relay-process.js', import.meta.url))], {
        env: { ...process.env, LXR_BENCH_PG_URL: pgUrl, LXR_BENCH_NATS_URL: natsUrl },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child!.once('exit', (code) => reject(new Error(`relay process exited with ${code}`)));
        child!.stdout!.once('data', () => resolve());
      });
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The bus the bench measures through, its events stream (re)created empty. */
async function busWithEmptyStream(natsUrl: string): Promise<NatsBus> {
  const bus = await connectBus({ servers: natsUrl, name: 'bench' });
  const jsm = await bus.connection.jetstreamManager();
  await jsm.streams.delete(EVENTS_STREAM).catch(() => false);
  await bus.ensureStreams();
  return bus;
}

/** Appends as fast as `writers` concurrent writers can, each to its own stream, for `ms`. */
async function throughput(
  store: PostgresEventStore,
  writers: number,
  batch: number,
  ms: number,
  run: number,
) {
  const deadline = performance.now() + ms;
  const latencies: number[] = [];
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const stream = `tp-${run}-${w}`;
      let version = 0;
      while (performance.now() < deadline) {
        const events = Array.from({ length: batch }, (_, k) => newEvent(version + k));
        const t0 = performance.now();
        const result = await store.append(stream, version, events);
        latencies.push(performance.now() - t0);
        version = result.streamVersion;
      }
      return version;
    }),
  );
  const events = counts.reduce((a, b) => a + b, 0);
  return {
    eventsPerSecond: (events * 1000) / ms,
    p99: quantile(latencies, 0.99),
    p50: quantile(latencies, 0.5),
  };
}

/** Appends at a steady rate while a relay publishes to JetStream; measures append → delivered. */
async function latency(
  store: PostgresEventStore,
  natsUrl: string,
  pgUrl: string,
  ms: number,
  log: (l: string) => void,
) {
  const bus = await busWithEmptyStream(natsUrl);
  const sentAt = new Map<string, number>();
  const committedAt = new Map<string, number>();
  /** Per stage, for the events measured: commit → relay picks it up, publish → JetStream ack. */
  const pickup: number[] = [];
  const publishing: number[] = [];
  let measuring = false;
  const relay = RELAY_INLINE
    ? createOutboxRelay({
        connectionString: pgUrl,
        publish: async (event, chaining) => {
          const t0 = performance.now();
          await bus.publish(event, chaining);
          const committed = committedAt.get(event.metadata.eventId);
          if (measuring && committed !== undefined) {
            pickup.push(t0 - committed);
            publishing.push(performance.now() - t0);
          }
        },
      })
    : relayProcess(pgUrl, natsUrl);
  const delivered: number[] = [];
  const appendLatencies: number[] = [];
  const consumer = await bus.jetstream.consumers.get(EVENTS_STREAM);
  const messages = await consumer.consume();
  const consuming = (async () => {
    for await (const m of messages) {
      const id = m.headers?.get('Nats-Msg-Id');
      const t0 = id ? sentAt.get(id) : undefined;
      if (t0 !== undefined) {
        if (measuring) delivered.push(performance.now() - t0);
        sentAt.delete(id!);
      }
    }
  })();
  try {
    await relay.start();
    const drive = async (durationMs: number, record: boolean) => {
      const start = performance.now();
      let sent = 0;
      const inflight = new Set<Promise<void>>();
      while (performance.now() - start < durationMs) {
        const due = Math.floor(((performance.now() - start) * LATENCY_RATE) / 1000);
        for (; sent < due; sent++) {
          const eventId = uuidv7();
          const t0 = performance.now();
          sentAt.set(eventId, t0);
          const p = store
            .append(`lat-${eventId}`, 'no-stream', [newEvent(sent, eventId)])
            .then(() => {
              const t1 = performance.now();
              committedAt.set(eventId, t1);
              if (record) appendLatencies.push(t1 - t0);
            })
            .finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(inflight);
      return sent;
    };
    await drive(1_000, false); // warm-up: connections, prepared statements, JIT
    await new Promise((r) => setTimeout(r, 200));
    measuring = true;
    const cpu = cpuMeter();
    const sent = await drive(ms, true);
    const machine = cpu.stop();
    const deadline = performance.now() + 10_000;
    while (delivered.length < sent && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    measuring = false;
    log(`latency: ${sent} sent, ${delivered.length} delivered`);
    return { sent, delivered, appendLatencies, pickup, publishing, machine };
  } finally {
    await relay.stop();
    await messages.close();
    await consuming;
    await bus.close();
  }
}

/**
 * A backlog of `events` in the log, then the relay (in its own process) started: how fast it
 * drains the backlog into JetStream, i.e. the sustained rate it can follow.
 */
async function drain(store: PostgresEventStore, natsUrl: string, pgUrl: string, events: number) {
  const writers = 32;
  const perWriter = Math.ceil(events / writers / 10) * 10;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let version = 0; version < perWriter; version += 10) {
        await store.append(
          `drain-${w}`,
          version,
          Array.from({ length: 10 }, (_, k) => newEvent(version + k)),
        );
      }
    }),
  );
  const total = writers * perWriter;
  const bus = await busWithEmptyStream(natsUrl);
  try {
    const jsm = await bus.connection.jetstreamManager();
    const relay = relayProcess(pgUrl, natsUrl);
    const cpu = cpuMeter();
    const started = performance.now();
    await relay.start();
    try {
      while ((await jsm.streams.info(EVENTS_STREAM)).state.messages < total) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await relay.stop();
    }
    return { total, eventsPerSecond: (total * 1000) / (performance.now() - started), machine: cpu.stop() };
  } finally {
    await bus.close();
  }
}

async function applySettings(server: PostgresServer, store: PostgresEventStore): Promise<void> {
  for (const [name, value] of Object.entries(RECOMMENDED_POSTGRES_SETTINGS)) {
    await store.pool.query(`alter system set ${name} = '${value}'`);
  }
  // Some settings (shared_buffers, wal_buffers) only take effect on a restart.
  await store.pool.end().catch(() => {});
  await server.stop();
  await server.start();
}

export const eventStoreBench: BenchSection = {
  id: 'event-store',
  title: 'Event store (PostgreSQL + outbox relay → JetStream)',
  setup:
    'Real PostgreSQL (initdb in a temp dir, fsync=on, synchronous_commit=on, the settings of ' +
    '`RECOMMENDED_POSTGRES_SETTINGS`) and nats-server with JetStream (file storage), on this machine. ' +
    `Throughput: each writer appends to its own stream with a numeric expected version, ${THROUGHPUT_MS / 1000} s per row. ` +
    `Latency: ${LATENCY_RATE} events/s for ${LATENCY_MS / 1000} s (after a 1 s warm-up), one append per event, ` +
    'the outbox relay in its own process (as a service runs it; `LXR_BENCH_RELAY=inline` runs it in the bench ' +
    'process and adds a breakdown) publishing `ContainerRequested` events through `@lxr/bus` (msgID = event id, ' +
    'chained publishes), an ordered JetStream consumer in the bench process; measured from the append call ' +
    'to delivery. Relay: a backlog appended first, then the time until JetStream holds all of it ' +
    '(`LXR_BENCH_RELAY_WINDOW` sets the publish window). ' +
    'Sizes: `LXR_BENCH_THROUGHPUT_MS`, `LXR_BENCH_LATENCY_MS`, `LXR_BENCH_DRAIN_EVENTS`. ' +
    'The machine (2 cores) is shared, so each row notes how busy it was.',
  async run(log) {
    let postgres: PostgresServer | undefined;
    let nats: NatsServer | undefined;
    let store: PostgresEventStore | undefined;
    try {
      [postgres, nats] = await Promise.all([startPostgres({ fsync: true }), startNats()]);
      const settingsStore = createPostgresEventStore({ connectionString: postgres.url });
      await applySettings(postgres, settingsStore);
      store = createPostgresEventStore({ connectionString: postgres.url, maxConnections: 40 });
      await store.migrate();
      const rows: BenchRow[] = [];
      let run = 0;
      for (const batch of [1, 10]) {
        for (const writers of [1, 8, 32]) {
          const cpu = cpuMeter();
          const r = await throughput(store, writers, batch, THROUGHPUT_MS, run++);
          const machine = cpu.stop();
          log(`append ${writers} writers × ${batch}: ${formatInt(r.eventsPerSecond)} events/s`);
          rows.push({
            name: `append: ${writers} writer${writers > 1 ? 's' : ''}, ${batch} event${batch > 1 ? 's' : ''}/append`,
            result: `${formatInt(r.eventsPerSecond)} events/s`,
            goal: `≥ ${formatInt(THROUGHPUT_GOAL)} events/s`,
            met: r.eventsPerSecond >= THROUGHPUT_GOAL,
            notes: `append p50 ${formatMs(r.p50)}, p99 ${formatMs(r.p99)}; ${machine}`,
          });
        }
      }
      // A fresh database, so the relay starts with an empty log rather than the throughput runs'.
      await store.pool.query('create database latency');
      const latencyUrl = postgres.url.replace(/\/[^/]+$/, '/latency');
      const latencyStore = createPostgresEventStore({ connectionString: latencyUrl, maxConnections: 20 });
      await latencyStore.migrate();
      const { sent, delivered, appendLatencies, pickup, publishing, machine } = await latency(
        latencyStore,
        nats.url,
        latencyUrl,
        LATENCY_MS,
        log,
      ).finally(() => latencyStore.close());
      const p = (q: number) => quantile(delivered, q);
      rows.push({
        name: `append → delivered at ${formatInt(LATENCY_RATE)} events/s (${formatInt(sent)} events)`,
        result: `p50 ${formatMs(p(0.5))}, p95 ${formatMs(p(0.95))}, p99 ${formatMs(p(0.99))}`,
        goal: `p99 ≤ ${P99_GOAL_MS} ms`,
        met: delivered.length === sent && p(0.99) <= P99_GOAL_MS,
        notes:
          `max ${formatMs(p(1))}; ${formatInt(delivered.length)}/${formatInt(sent)} delivered; ` +
          `append alone p50 ${formatMs(quantile(appendLatencies, 0.5))}, p99 ${formatMs(quantile(appendLatencies, 0.99))}` +
          (RELAY_INLINE
            ? `; commit → relay p50/p99 ${formatMs(quantile(pickup, 0.5))}/${formatMs(quantile(pickup, 0.99))}, ` +
              `JetStream publish ${formatMs(quantile(publishing, 0.5))}/${formatMs(quantile(publishing, 0.99))}`
            : '; relay in its own process') +
          `; ${machine}`,
      });
      await store.pool.query('create database drain');
      const drainUrl = postgres.url.replace(/\/[^/]+$/, '/drain');
      const drainStore = createPostgresEventStore({ connectionString: drainUrl, maxConnections: 40 });
      await drainStore.migrate();
      const drained = await drain(drainStore, nats.url, drainUrl, DRAIN_EVENTS).finally(() =>
        drainStore.close(),
      );
      log(
        `relay drained ${formatInt(drained.total)} events at ${formatInt(drained.eventsPerSecond)} events/s`,
      );
      rows.push({
        name: `outbox relay: a backlog of ${formatInt(drained.total)} events → JetStream`,
        result: `${formatInt(drained.eventsPerSecond)} events/s`,
        goal: `≥ ${formatInt(THROUGHPUT_GOAL)} events/s (keeps up with appends)`,
        met: drained.eventsPerSecond >= THROUGHPUT_GOAL,
        notes: `relay in its own process, windows of ${process.env['LXR_BENCH_RELAY_WINDOW'] ?? 64} chained publishes; ${drained.machine}`,
      });
      return rows;
    } finally {
      await store?.close().catch(() => {});
      await Promise.all([postgres?.dispose(), nats?.dispose()]);
    }
  },
};
