/**
 * The outbox relay as its own process, as a service runs it: relays the log at LXR_BENCH_PG_URL
 * through the bus to JetStream at LXR_BENCH_NATS_URL until SIGTERM. Prints `ready` once started.
 * LXR_BENCH_RELAY_WINDOW sets the publish window.
 */
import { connectBus } from '@lxr/bus';
import { createOutboxRelay } from '@lxr/event-store';

const bus = await connectBus({ servers: process.env['LXR_BENCH_NATS_URL']!, name: 'bench-relay' });
const window = process.env['LXR_BENCH_RELAY_WINDOW'];
const relay = createOutboxRelay({
  connectionString: process.env['LXR_BENCH_PG_URL']!,
  ...(window ? { publishWindow: Number(window) } : {}),
  publish: (event, chaining) => bus.publish(event, chaining),
});
await relay.start();
console.log('ready');
process.once('SIGTERM', async () => {
  await relay.stop();
  await bus.close();
  process.exit(0);
});
