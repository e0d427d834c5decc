import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EVENTS_STREAM, type LxrRecordedEvent, type RecordedEvent } from '@lxr/events';
import { createRecordingTracer } from '@lxr/telemetry/testing';
import { deferred, type NatsServer, sleep, startNats, waitFor } from '@lxr/testkit';
import type { JetStreamManager, StoredMsg } from 'nats';
import type { DeliveryContext } from '../bus.js';
import { type BusError, BusErrorCode, RemoteError } from '../errors.js';
import { containerRequested, memoryLogger } from '../testing.js';
import { DlqHeader } from './headers.js';
import { connectBus, type NatsBus } from './nats-bus.js';
import { DLQ_STREAM, dlqSubject } from './streams.js';

const encoder = new TextEncoder();

/** Every dead letter of one durable, oldest first. */
async function deadLetters(jsm: JetStreamManager, durable: string): Promise<StoredMsg[]> {
  const { state } = await jsm.streams.info(DLQ_STREAM);
  const found: StoredMsg[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(DLQ_STREAM, { seq }).catch(() => undefined);
    if (m?.subject === dlqSubject(durable)) found.push(m);
  }
  return found;
}

/** A handler recording the events it got, in order. */
function recorder() {
  const seen: { event: LxrRecordedEvent; context: DeliveryContext }[] = [];
  const ids = () => seen.map((s) => s.event.metadata.eventId);
  return {
    seen,
    ids,
    handler: async (event: LxrRecordedEvent, context: DeliveryContext) => void seen.push({ event, context }),
  };
}

describe('NATS event bus', () => {
  let server: NatsServer;
  let bus: NatsBus;
  let jsm: JetStreamManager;
  const logger = memoryLogger();

  before(async () => {
    server = await startNats();
    bus = await connectBus({ servers: server.url, name: 'bus-test', logger });
    await bus.ensureStreams();
    await bus.ensureStreams(); // idempotent
    jsm = await bus.connection.jetstreamManager();
  });
  after(async () => {
    await bus?.close();
    await server?.dispose();
  });

  it('stores an event published twice with the same id once', async () => {
    const event = containerRequested();
    const before = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    await bus.publish(event);
    await bus.publish(event);
    await bus.publish({ ...event, metadata: { ...event.metadata, position: 99 } });
    const { state } = await jsm.streams.info(EVENTS_STREAM);
    assert.equal(state.messages - before, 1);
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq: state.last_seq });
    assert.equal(stored.subject, 'lxr.events.container.ContainerRequested');
    assert.equal(stored.header.get('Nats-Msg-Id'), event.metadata.eventId);
    assert.deepEqual(stored.json(), event);
  });

  it('stores a chained publish only after the event it names; a repeat is acknowledged regardless', async () => {
    const [a, b, c] = [containerRequested(), containerRequested(), containerRequested()];
    await bus.publish(a);
    await bus.publish(b, { expectLastEventId: a.metadata.eventId });
    await assert.rejects(
      bus.publish(c, { expectLastEventId: a.metadata.eventId }),
      (e: BusError) => e.code === BusErrorCode.PublishFailed,
    );
    await bus.publish(a, { expectLastEventId: 'not-the-last' });
    await bus.publish(c, { expectLastEventId: b.metadata.eventId });
    const { state } = await jsm.streams.info(EVENTS_STREAM);
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq: state.last_seq });
    assert.equal(stored.header.get('Nats-Msg-Id'), c.metadata.eventId);
  });

  it('refuses to publish an event type the catalog does not know', async () => {
    const event = { ...containerRequested(), type: 'NoSuchEvent' };
    await assert.rejects(bus.publish(event), (e: BusError) => e.code === BusErrorCode.UnknownEventType);
  });

  it('delivers in stream order, and a durable consumer resumes without redelivering acked events', async () => {
    const durable = 'resume';
    const first = Array.from({ length: 10 }, () => containerRequested());
    const filterSubject = 'lxr.events.container.>';
    // The new durable replays what earlier tests published too; look at this test's events only.
    const mine = new Set(first.map((e) => e.metadata.eventId));
    const a = recorder();
    let sub = await bus.subscribe({ durable, filterSubject, handler: a.handler });
    for (const event of first) await bus.publish(event);
    const handled = () => a.ids().filter((id) => mine.has(id));
    await waitFor(() => handled().length === first.length, 'the first ten events');
    await sub.drain();
    assert.deepEqual(
      handled(),
      first.map((e) => e.metadata.eventId),
      'handled in publish order',
    );
    assert.ok(a.seen.every((s) => s.context.deliveryCount === 1));

    const later = containerRequested();
    await bus.publish(later);
    const b = recorder();
    sub = await bus.subscribe({ durable, filterSubject, handler: b.handler });
    await waitFor(() => b.seen.length >= 1, 'the event published while closed');
    await sleep(300);
    await sub.drain();
    assert.deepEqual(b.ids(), [later.metadata.eventId]);
    const info = await jsm.consumers.info(EVENTS_STREAM, durable);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
  });

  it('retries a failing handler with backoff, then dead-letters it and keeps going', async () => {
    const durable = 'failing';
    const failing = containerRequested();
    const next = containerRequested();
    const attempts: { at: number; count: number }[] = [];
    const handled: string[] = [];
    const sub = await bus.subscribe({
      durable,
      // Only this test's events: the correlation id is the container id, the subject is shared.
      filterSubject: 'lxr.events.container.ContainerRequested',
      maxDeliver: 3,
      backoffMs: [200, 400],
      handler: async (event, context) => {
        if (event.metadata.eventId === failing.metadata.eventId) {
          attempts.push({ at: Date.now(), count: context.deliveryCount });
          throw Object.assign(new Error('registry unreachable\nsecond line'), { code: 'TEST_REGISTRY_DOWN' });
        }
        handled.push(event.metadata.eventId);
      },
    });
    try {
      await bus.publish(failing);
      await bus.publish(next);
      await waitFor(() => handled.includes(next.metadata.eventId), 'the event after the failing one', 15_000);
      assert.deepEqual(
        attempts.map((a) => a.count),
        [1, 2, 3],
      );
      const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
      assert.ok(gaps[0]! >= 180, `first retry after >= 200 ms (was ${gaps[0]})`);
      assert.ok(gaps[1]! >= 380, `second retry after >= 400 ms (was ${gaps[1]})`);
      // Order across retries: the next event waited for the failing one to be dead-lettered.
      const letters = await deadLetters(jsm, durable);
      const letter = letters.find(
        (m) => (m.json() as RecordedEvent).metadata.eventId === failing.metadata.eventId,
      );
      assert.ok(letter, 'a dead letter for the failing event');
      assert.deepEqual(letter.json(), failing);
      assert.equal(letter.header.get(DlqHeader.Reason), BusErrorCode.MaxDeliveriesExceeded);
      assert.equal(letter.header.get(DlqHeader.ErrorCode), 'TEST_REGISTRY_DOWN');
      assert.equal(letter.header.get(DlqHeader.Error), 'registry unreachable second line');
      assert.equal(letter.header.get(DlqHeader.DeliveryCount), '3');
      assert.equal(letter.header.get(DlqHeader.Subject), 'lxr.events.container.ContainerRequested');
      assert.equal(letter.header.get(DlqHeader.Consumer), durable);
      assert.ok(Number(letter.header.get(DlqHeader.StreamSequence)) > 0);
      await sleep(500);
      assert.equal(attempts.length, 3, 'never delivered again after the dead letter');
    } finally {
      await sub.drain();
    }
  });

  it('dead-letters malformed and unknown events without calling the handler, and keeps going', async () => {
    const durable = 'malformed';
    const valid = containerRequested();
    const subject = 'lxr.events.container.Garbage';
    const h = recorder();
    const sub = await bus.subscribe({ durable, filterSubject: 'lxr.events.container.>', handler: h.handler });
    try {
      const js = bus.jetstream;
      await js.publish(subject, encoder.encode('this is not json'));
      await js.publish(
        subject,
        encoder.encode(JSON.stringify({ ...containerRequested(), type: 'NoSuchEvent' })),
      );
      const bad = containerRequested({}, { image: '' });
      await js.publish(subject, encoder.encode(JSON.stringify(bad)));
      await bus.publish(valid);
      await waitFor(() => h.ids().includes(valid.metadata.eventId), 'the valid event');
      assert.ok(!h.seen.some((s) => s.context.subject === subject), 'the handler never saw a bad message');
      await waitFor(async () => (await deadLetters(jsm, durable)).length === 3, 'three dead letters');
      const letters = await deadLetters(jsm, durable);
      assert.deepEqual(
        letters.map((m) => m.header.get(DlqHeader.Reason)),
        [BusErrorCode.InvalidMessage, 'EVENT_UNKNOWN_TYPE', 'EVENT_MALFORMED'],
      );
      assert.equal(letters[0]!.string(), 'this is not json');
      assert.match(letters[2]!.header.get(DlqHeader.Error), /data\/image/);
      assert.ok(letters.every((m) => m.header.get(DlqHeader.DeliveryCount) === '1'));
    } finally {
      await sub.drain();
    }
  });

  it('runs the handler in a consumer span that continues the producer trace', async () => {
    const recording = createRecordingTracer();
    const traced = await connectBus({ servers: server.url, name: 'traced', tracer: recording.tracer });
    try {
      const event = containerRequested();
      const done = deferred();
      await traced.subscribe({
        durable: 'traced',
        filterSubject: 'lxr.events.container.ContainerRequested',
        handler: async (e) => {
          if (e.metadata.eventId === event.metadata.eventId) done.resolve();
        },
      });
      await traced.publish(event);
      await done.promise;
      await waitFor(
        () =>
          recording
            .spans()
            .some(
              (s) =>
                s.attributes['messaging.message.id'] === event.metadata.eventId &&
                s.name.startsWith('process'),
            ),
        'the consumer span',
      );
      const spans = recording
        .spans()
        .filter((s) => s.attributes['messaging.message.id'] === event.metadata.eventId);
      const producer = spans.find((s) => s.name.startsWith('send'))!;
      const consumer = spans.find((s) => s.name.startsWith('process'))!;
      assert.equal(consumer.traceId, producer.traceId);
      assert.equal(consumer.parentSpanId, producer.spanId);
      assert.equal(consumer.attributes['messaging.consumer.group.name'], 'traced');
      assert.equal(consumer.attributes['messaging.system'], 'nats');
      assert.equal(consumer.attributes['lxr.correlation_id'], event.metadata.correlationId);
    } finally {
      await traced.close();
    }
  });

  it('answers requests, and turns errors into error replies', async () => {
    const echo = bus.reply('lxr.query.echo', async (payload) => ({ echo: payload }));
    const failing = bus.reply('lxr.query.fail', async () => {
      throw Object.assign(new Error('node "x" is not known'), { code: 'NODE_NOT_FOUND' });
    });
    const slow = bus.reply('lxr.query.slow', () => sleep(1_000).then(() => 'late'));
    try {
      assert.deepEqual(await bus.request('lxr.query.echo', { n: 1 }), { echo: { n: 1 } });
      await assert.rejects(bus.request('lxr.query.fail', {}), (e: RemoteError) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.code, BusErrorCode.RemoteError);
        assert.equal(e.remoteCode, 'NODE_NOT_FOUND');
        assert.equal(e.message, 'node "x" is not known');
        return true;
      });
      await assert.rejects(
        bus.request('lxr.query.nobody', {}),
        (e: BusError) => e.code === BusErrorCode.NoResponders,
      );
      await assert.rejects(
        bus.request('lxr.query.slow', {}, 200),
        (e: BusError) => e.code === BusErrorCode.RequestTimeout,
      );
      const raw = await bus.connection.request('lxr.query.echo', encoder.encode('{oops'));
      assert.deepEqual(raw.json(), {
        ok: false,
        error: { code: BusErrorCode.InvalidRequest, message: 'the request on lxr.query.echo is not JSON' },
      });
    } finally {
      await Promise.all([echo.drain(), failing.drain(), slow.drain()]);
    }
  });

  it('drains: waits for the in-flight handler, which acks', async () => {
    const durable = 'drain';
    const event = containerRequested();
    const started = deferred();
    const release = deferred();
    let finished = false;
    const sub = await bus.subscribe({
      durable,
      filterSubject: 'lxr.events.container.ContainerRequested',
      handler: async (e) => {
        if (e.metadata.eventId !== event.metadata.eventId) return;
        started.resolve();
        await release.promise;
        await sleep(100);
        finished = true;
      },
    });
    await bus.publish(event);
    await started.promise;
    let drained = false;
    const draining = sub.drain().then(() => {
      drained = true;
    });
    await sleep(200);
    assert.equal(drained, false, 'drain waits for the handler');
    release.resolve();
    await draining;
    assert.equal(finished, true);
    await waitFor(
      async () => (await jsm.consumers.info(EVENTS_STREAM, durable)).num_ack_pending === 0,
      'the ack',
    );
  });

  it('close() drains subscriptions first: the in-flight handler finishes and its ack reaches the server', async () => {
    const other = await connectBus({ servers: server.url, name: 'closing' });
    const event = containerRequested();
    const started = deferred();
    let finished = false;
    await other.subscribe({
      durable: 'closing',
      filterSubject: 'lxr.events.container.ContainerRequested',
      handler: async (e) => {
        if (e.metadata.eventId !== event.metadata.eventId) return;
        started.resolve();
        await sleep(300);
        finished = true;
      },
    });
    await bus.publish(event);
    await started.promise;
    await other.close();
    assert.equal(finished, true);
    assert.equal(other.isConnected(), false);
    const info = await jsm.consumers.info(EVENTS_STREAM, 'closing');
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
    await assert.rejects(
      other.publish(containerRequested()),
      (e: BusError) => e.code === BusErrorCode.Closed,
    );
  });

  it('runs up to `concurrency` handlers at once', async () => {
    const events = Array.from({ length: 6 }, () => containerRequested());
    const mine = new Set(events.map((e) => e.metadata.eventId));
    let running = 0;
    let peak = 0;
    const done = new Set<string>();
    const sub = await bus.subscribe({
      durable: 'parallel',
      filterSubject: 'lxr.events.container.ContainerRequested',
      concurrency: 3,
      handler: async (e) => {
        if (!mine.has(e.metadata.eventId)) return;
        running++;
        peak = Math.max(peak, running);
        await sleep(150);
        running--;
        done.add(e.metadata.eventId);
      },
    });
    try {
      await Promise.all(events.map((e) => bus.publish(e)));
      await waitFor(() => done.size === events.length, 'all six events');
      assert.equal(peak, 3);
    } finally {
      await sub.drain();
    }
  });

  it('rejects bad subscription options with every problem named', async () => {
    await assert.rejects(
      bus.subscribe({ durable: 'a.b', maxDeliver: 0, concurrency: 0, handler: async () => {} }),
      (e: BusError) =>
        e.code === BusErrorCode.InvalidOptions &&
        /durable/.test(e.message) &&
        /maxDeliver/.test(e.message) &&
        /concurrency/.test(e.message),
    );
  });

  it('updates the retry settings of an existing durable in place', async () => {
    let sub = await bus.subscribe({ durable: 'reconfigure', handler: async () => {} });
    await sub.drain();
    sub = await bus.subscribe({
      durable: 'reconfigure',
      maxDeliver: 7,
      concurrency: 3,
      ackWaitMs: 60_000,
      handler: async () => {},
    });
    await sub.drain();
    const { config } = await jsm.consumers.info(EVENTS_STREAM, 'reconfigure');
    assert.equal(config.max_deliver, 8);
    assert.equal(config.max_ack_pending, 3);
    assert.equal(config.ack_wait, 60_000 * 1_000_000);
  });

  it('refuses a durable whose filter subject changed', async () => {
    const sub = await bus.subscribe({
      durable: 'refilter',
      filterSubject: 'lxr.events.container.>',
      handler: async () => {},
    });
    await sub.drain();
    await assert.rejects(
      bus.subscribe({ durable: 'refilter', filterSubject: 'lxr.events.image.>', handler: async () => {} }),
      (e: BusError) => e.code === BusErrorCode.SubscribeFailed && /already exists/.test(e.message),
    );
  });
});

describe('NATS event bus across a nats-server restart', () => {
  let server: NatsServer;
  let bus: NatsBus | undefined;
  after(async () => {
    await bus?.close();
    await server?.dispose();
  });

  it('reconnects, and the consumer resumes by itself', async () => {
    server = await startNats();
    const logger = memoryLogger();
    bus = await connectBus({ servers: server.url, name: 'restart-test', logger, maxReconnectDelayMs: 500 });
    await bus.ensureStreams();
    const h = recorder();
    await bus.subscribe({ durable: 'restart', handler: h.handler });
    const first = containerRequested();
    await bus.publish(first);
    await waitFor(() => h.seen.length === 1, 'the first event');
    // An ack still on the wire when the server stops is lost, and the event comes back after the
    // ack wait; that is at-least-once, but not what this test is about.
    const jsm = await bus.connection.jetstreamManager();
    await waitFor(
      async () => (await jsm.consumers.info(EVENTS_STREAM, 'restart')).num_ack_pending === 0,
      'the ack',
    );

    await server.stop();
    await waitFor(() => !bus!.isConnected(), 'the disconnect');
    await server.start();
    await waitFor(() => bus!.isConnected(), 'the reconnect', 15_000);

    const second = containerRequested();
    // JetStream may need a moment after the port opens; the outbox relay retries the same way.
    await waitFor(
      () =>
        bus!.publish(second).then(
          () => true,
          () => false,
        ),
      'a publish to succeed after the restart',
      15_000,
    );
    await waitFor(
      () => h.ids().includes(second.metadata.eventId),
      'the event published after the restart',
      20_000,
    );
    assert.deepEqual(h.ids(), [first.metadata.eventId, second.metadata.eventId]);
    assert.ok(logger.lines.some((l) => l.message.startsWith('disconnected')));
    assert.ok(logger.lines.some((l) => l.message.startsWith('reconnected')));
  });
});
