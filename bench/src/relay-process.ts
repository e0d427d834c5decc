/**
 * The outbox relay as its own process, as in production: relays the log at LXR_BENCH_PG_URL to
 * JetStream at LXR_BENCH_NATS_URL (msgID = event id) until SIGTERM. Prints `ready` once started.
 */
import { createOutboxRelay } from '@lxr/event-store';
import { eventSubject, isKnownEventType, type RecordedEvent } from '@lxr/events';
import { connect, JSONCodec } from 'nats';

const codec = JSONCodec<RecordedEvent>();
// noAsyncTraces: nats.js otherwise captures a stack trace for every request (each JetStream
// publish), which costs more CPU than the rest of the publish.
const nc = await connect({ servers: process.env['LXR_BENCH_NATS_URL']!, noAsyncTraces: true });
const js = nc.jetstream();
const window = process.env['LXR_BENCH_RELAY_WINDOW'];
const relay = createOutboxRelay({
  connectionString: process.env['LXR_BENCH_PG_URL']!,
  ...(window ? { publishWindow: Number(window) } : {}),
  publish: async (event, chaining) => {
    const subject = isKnownEventType(event.type)
      ? eventSubject(event.type)
      : `lxr.events.bench.${event.type}`;
    await js.publish(subject, codec.encode(event), {
      msgID: event.metadata.eventId,
      ...(chaining.expectLastEventId ? { expect: { lastMsgID: chaining.expectLastEventId } } : {}),
    });
  },
});
await relay.start();
console.log('ready');
process.once('SIGTERM', async () => {
  await relay.stop();
  await nc.drain();
  process.exit(0);
});
