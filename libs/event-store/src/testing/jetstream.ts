/**
 * JetStream helpers for this package's integration tests (not part of the public API): the
 * publisher an outbox relay is given in production looks like `jetStreamPublisher`.
 */
import {
  EVENT_SUBJECT_PREFIX,
  EVENTS_STREAM,
  eventSubject,
  isKnownEventType,
  type RecordedEvent,
} from '@lxr/events';
import { type JetStreamClient, type JetStreamManager, JSONCodec, nanos } from 'nats';
import type { PublishChaining } from '../postgres/outbox-relay.js';

const codec = JSONCodec<RecordedEvent>();

/** `lxr.events.<context>.<Type>` for catalogued types, `lxr.events.test.<Type>` for test events. */
function subjectOf(event: RecordedEvent): string {
  return isKnownEventType(event.type)
    ? eventSubject(event.type)
    : `${EVENT_SUBJECT_PREFIX}.test.${event.type}`;
}

/** (Re)creates the events stream with a duplicate window, empty. */
export async function resetEventsStream(jsm: JetStreamManager, duplicateWindowMs = 120_000): Promise<void> {
  await jsm.streams.delete(EVENTS_STREAM).catch(() => false);
  await jsm.streams.add({
    name: EVENTS_STREAM,
    subjects: [`${EVENT_SUBJECT_PREFIX}.>`],
    duplicate_window: nanos(duplicateWindowMs),
  });
}

/**
 * A relay `publish` function as production's (libs/bus): JetStream publish with `msgID` = event id,
 * chained with `expect.lastMsgID`; counts duplicates.
 */
export function jetStreamPublisher(js: JetStreamClient): {
  publish: (event: RecordedEvent, chaining: PublishChaining) => Promise<void>;
  readonly duplicates: number;
} {
  let duplicates = 0;
  return {
    async publish(event, chaining) {
      const ack = await js.publish(subjectOf(event), codec.encode(event), {
        msgID: event.metadata.eventId,
        ...(chaining.expectLastEventId ? { expect: { lastMsgID: chaining.expectLastEventId } } : {}),
      });
      if (ack.duplicate) duplicates++;
    },
    get duplicates() {
      return duplicates;
    },
  };
}

/** A received message: the event, its Nats-Msg-Id header and its stream sequence. */
export interface Received {
  readonly event: RecordedEvent;
  readonly msgId: string | undefined;
  readonly seq: number;
  readonly at: number;
}

/**
 * Subscribes (ordered consumer, from the start of the stream) and collects messages; `until`
 * resolves once `count` have arrived or rejects after `timeoutMs`.
 */
export async function subscribeAll(
  js: JetStreamClient,
  onMessage?: (received: Received) => void,
): Promise<{
  received: Received[];
  until(count: number, timeoutMs: number): Promise<Received[]>;
  stop(): Promise<void>;
}> {
  const consumer = await js.consumers.get(EVENTS_STREAM);
  const messages = await consumer.consume();
  const received: Received[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const done = (async () => {
    for await (const m of messages) {
      const item = {
        event: codec.decode(m.data),
        msgId: m.headers?.get('Nats-Msg-Id'),
        seq: m.seq,
        at: performance.now(),
      };
      received.push(item);
      onMessage?.(item);
      if (waiter && received.length >= waiter.count) waiter.resolve();
    }
  })();
  return {
    received,
    async until(count, timeoutMs) {
      if (received.length < count) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (waiter = { count, resolve })),
          new Promise<void>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(new Error(`received ${received.length} of ${count} messages within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]).finally(() => clearTimeout(timer));
      }
      return received;
    },
    async stop() {
      await messages.close();
      await done;
    },
  };
}

/** How many messages the events stream holds. */
export async function streamMessages(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(EVENTS_STREAM)).state.messages;
}
