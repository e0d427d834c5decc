import { natsServerOptions } from '@lxr/bus';
import { EVENTS_STREAM, type RecordedEvent } from '@lxr/events';
import { AckPolicy, connect, DeliverPolicy } from 'nats';

/** Every event on the LXR_EVENTS stream, in stream order, read with a throwaway consumer. */
export async function jetStreamEvents(natsUrl: string): Promise<RecordedEvent[]> {
  const nc = await connect(natsServerOptions(natsUrl));
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(EVENTS_STREAM);
    const last = info.state.last_seq;
    if (info.state.messages === 0) return [];
    const consumer = await jsm.consumers.add(EVENTS_STREAM, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 30_000_000_000,
    });
    const js = nc.jetstream();
    const reader = await js.consumers.get(EVENTS_STREAM, consumer.name);
    const events: RecordedEvent[] = [];
    const messages = await reader.consume({ max_messages: 1000 });
    for await (const message of messages) {
      events.push(message.json<RecordedEvent>());
      if (message.seq >= last) break;
    }
    await jsm.consumers.delete(EVENTS_STREAM, consumer.name).catch(() => {});
    return events;
  } finally {
    await nc.close();
  }
}
