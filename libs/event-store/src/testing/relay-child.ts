/**
 * An outbox relay in its own process, for the crash tests: relays the log at LXR_TEST_PG_URL to
 * JetStream at LXR_TEST_NATS_URL until SIGTERM (clean stop) or SIGKILL. Prints JSON lines:
 * `{"started":true}` and, on a clean stop, `{"published":n,"duplicates":n}`.
 * LXR_TEST_PUBLISH_DELAY_MS slows each publish down; LXR_TEST_BATCH_SIZE sets the batch size.
 */
import { connect } from 'nats';
import { createOutboxRelay } from '../postgres/outbox-relay.js';
import { jetStreamPublisher } from './jetstream.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const nc = await connect({ servers: env('LXR_TEST_NATS_URL') });
const publisher = jetStreamPublisher(nc.jetstream());
const delayMs = Number(process.env['LXR_TEST_PUBLISH_DELAY_MS'] ?? 0);
const relay = createOutboxRelay({
  connectionString: env('LXR_TEST_PG_URL'),
  batchSize: Number(process.env['LXR_TEST_BATCH_SIZE'] ?? 500),
  leaderRetryMs: 100,
  pollIntervalMs: 500,
  async publish(event, chaining) {
    await publisher.publish(event, chaining);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  },
  logger: {
    debug() {},
    info: (fields, message) => console.error(JSON.stringify({ level: 'info', message, ...fields })),
    warn: (fields, message) => console.error(JSON.stringify({ level: 'warn', message, ...fields })),
    error: (fields, message) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
  },
});
await relay.start();
console.log(JSON.stringify({ started: true }));
process.once('SIGTERM', async () => {
  await relay.stop();
  await nc.drain();
  console.log(JSON.stringify({ published: relay.published, duplicates: publisher.duplicates }));
  process.exit(0);
});
