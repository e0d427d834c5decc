import { EVENTS_STREAM, EventValidationError, type LxrRecordedEvent, parseRecordedEvent } from '@lxr/events';
import { type Tracer, withConsumerSpan } from '@lxr/telemetry';
import {
  ConsumerEvents,
  type ConsumerMessages,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from 'nats';
import type { DeliveryContext, Subscription } from '../bus.js';
import { BusError, BusErrorCode, codeOf, messageOf } from '../errors.js';
import type { BusLogger } from '../logger.js';
import { backoffDelay, ensureConsumer, type SubscriptionSettings } from './consumer-config.js';
import { carrierFromHeaders, DlqHeader, headerValue } from './headers.js';
import { dlqSubject } from './streams.js';

/** What an event subscription needs from its bus. */
export interface EventSubscriptionDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: BusLogger;
  readonly tracer: Tracer;
  readonly clientId: string;
  /** Re-creates the streams, e.g. after nats-server lost its data. */
  ensureStreams(): Promise<void>;
}

/** How long one pull request waits on the server; also paces heartbeat checks (half of it). */
const PULL_EXPIRES_MS = 5_000;

const decoder = new TextDecoder();

/**
 * A durable pull consumer on `LXR_EVENTS` running a handler per event: validate, handle inside
 * a consumer span, then ack, nak with backoff, or dead-letter and terminate. Resumes by itself
 * after reconnects (nats.js re-pulls) and re-creates its consumer if it disappears.
 */
export class EventSubscription implements Subscription {
  private messages: ConsumerMessages | undefined;
  private readonly queue: JsMsg[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private draining: Promise<void> | undefined;
  private recreating: Promise<void> | undefined;

  private constructor(
    private readonly deps: EventSubscriptionDeps,
    private readonly settings: SubscriptionSettings,
    private readonly onDrained: () => void,
  ) {}

  /** Ensures the durable consumer exists and starts pulling. */
  static async start(
    deps: EventSubscriptionDeps,
    settings: SubscriptionSettings,
    onDrained: () => void = () => {},
  ): Promise<EventSubscription> {
    await ensureConsumer(deps.jsm, settings);
    const subscription = new EventSubscription(deps, settings, onDrained);
    try {
      const consumer = await deps.js.consumers.get(EVENTS_STREAM, settings.durable);
      subscription.messages = await consumer.consume({
        max_messages: settings.concurrency,
        expires: PULL_EXPIRES_MS,
        callback: (m) => subscription.receive(m),
      });
    } catch (error) {
      throw new BusError(
        BusErrorCode.SubscribeFailed,
        `could not start consuming with durable "${settings.durable}": ${messageOf(error)}`,
        { cause: error },
      );
    }
    subscription.watchStatus(subscription.messages);
    deps.logger.info(
      { durable: settings.durable, filterSubject: settings.filterSubject, concurrency: settings.concurrency },
      'consuming events',
    );
    return subscription;
  }

  drain(): Promise<void> {
    this.draining ??= this.doDrain();
    return this.draining;
  }

  private async doDrain(): Promise<void> {
    this.stopping = true;
    await this.messages?.close().catch(() => {});
    // Received but never started: hand them back at once rather than after the ack wait.
    for (const m of this.queue.splice(0)) m.nak();
    await Promise.allSettled([...this.inFlight]);
    this.deps.logger.info({ durable: this.settings.durable }, 'subscription drained');
    this.onDrained();
  }

  private receive(m: JsMsg): void {
    if (this.stopping) {
      m.nak();
      return;
    }
    this.queue.push(m);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight.size < this.settings.concurrency && this.queue.length > 0) {
      const m = this.queue.shift()!;
      const done: Promise<void> = this.process(m)
        .catch((error) =>
          this.deps.logger.error({ err: error, durable: this.settings.durable }, 'delivery failed'),
        )
        .finally(() => {
          this.inFlight.delete(done);
          this.pump();
        });
      this.inFlight.add(done);
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const { durable, maxDeliver, backoffMs } = this.settings;
    const context: DeliveryContext = {
      deliveryCount: m.info.deliveryCount,
      streamSequence: m.seq,
      subject: m.subject,
    };
    let event: LxrRecordedEvent;
    try {
      event = parseRecordedEvent(JSON.parse(decoder.decode(m.data)));
    } catch (error) {
      // A malformed or unknown event can never succeed: dead-letter it on first sight.
      const reason = error instanceof EventValidationError ? error.code : BusErrorCode.InvalidMessage;
      await this.deadLetter(m, context, reason, error);
      return;
    }
    if (context.deliveryCount > maxDeliver) {
      const error = new BusError(
        BusErrorCode.MaxDeliveriesExceeded,
        `${event.type} ${event.metadata.eventId} was delivered ${context.deliveryCount} times without an ack ` +
          '(its handler never finished: the process died or hung)',
      );
      await this.deadLetter(m, context, BusErrorCode.MaxDeliveriesExceeded, error, event);
      return;
    }
    // Tell the server the message is still being worked on, so a long handler is not redelivered.
    const progress = setInterval(() => m.working(), Math.max(500, Math.floor(this.settings.ackWaitMs / 3)));
    try {
      await withConsumerSpan(event, m.subject, () => this.settings.handler(event, context), {
        tracer: this.deps.tracer,
        consumerGroup: durable,
        carrier: carrierFromHeaders(m.headers),
        deliveryCount: context.deliveryCount,
        clientId: this.deps.clientId,
        bodySize: m.data.length,
      });
    } catch (error) {
      if (context.deliveryCount >= maxDeliver) {
        await this.deadLetter(m, context, BusErrorCode.MaxDeliveriesExceeded, error, event);
      } else {
        const retryInMs = backoffDelay(backoffMs, context.deliveryCount);
        m.nak(retryInMs);
        this.deps.logger.warn(
          { err: error, durable, ...eventFields(event), deliveryCount: context.deliveryCount, retryInMs },
          'event handler failed; will retry',
        );
      }
      return;
    } finally {
      clearInterval(progress);
    }
    m.ack();
  }

  /**
   * Publishes the original payload to `lxr.dlq.<durable>` with headers saying why, then
   * terminates the message. If the dead letter cannot be written, the message is nak'ed so a
   * later delivery tries again; it is never dropped silently.
   */
  private async deadLetter(
    m: JsMsg,
    context: DeliveryContext,
    reason: string,
    error: unknown,
    event?: LxrRecordedEvent,
  ): Promise<void> {
    const { durable } = this.settings;
    const h = headers();
    for (const [key, value] of Object.entries(carrierFromHeaders(m.headers))) h.set(key, value);
    h.set(DlqHeader.Reason, reason);
    h.set(DlqHeader.Error, headerValue(messageOf(error)));
    h.set(DlqHeader.ErrorCode, codeOf(error));
    h.set(DlqHeader.Subject, m.subject);
    h.set(DlqHeader.Stream, EVENTS_STREAM);
    h.set(DlqHeader.StreamSequence, String(m.seq));
    h.set(DlqHeader.DeliveryCount, String(context.deliveryCount));
    h.set(DlqHeader.Consumer, durable);
    h.set(DlqHeader.FailedAt, new Date().toISOString());
    const fields = { durable, reason, subject: m.subject, streamSequence: m.seq, ...eventFields(event) };
    try {
      // The msgID makes a retry after a crash between publish and term() a no-op.
      await this.deps.js.publish(dlqSubject(durable), m.data, {
        headers: h,
        msgID: `${EVENTS_STREAM}:${durable}:${m.seq}`,
      });
    } catch (publishError) {
      m.nak(backoffDelay(this.settings.backoffMs, context.deliveryCount));
      this.deps.logger.error(
        { ...fields, err: publishError, cause: messageOf(error) },
        'could not write a dead letter; will retry',
      );
      return;
    }
    m.term();
    this.deps.logger.error(
      { ...fields, err: error, deliveryCount: context.deliveryCount },
      'event dead-lettered',
    );
  }

  private watchStatus(messages: ConsumerMessages): void {
    void (async () => {
      for await (const status of await messages.status()) {
        switch (status.type) {
          case ConsumerEvents.ConsumerNotFound:
          case ConsumerEvents.ConsumerDeleted:
            this.recreate(false);
            break;
          case ConsumerEvents.StreamNotFound:
            this.recreate(true);
            break;
          default:
            this.deps.logger.debug(
              { durable: this.settings.durable, status: status.type, data: status.data },
              'consumer status',
            );
            break;
        }
      }
    })().catch(() => {});
  }

  /** The consumer (or the whole stream) vanished under us: make them again; nats.js re-pulls. */
  private recreate(streams: boolean): void {
    if (this.stopping || this.recreating) return;
    const { durable } = this.settings;
    this.deps.logger.warn({ durable, streams }, 'durable consumer not found; re-creating it');
    this.recreating = (async () => {
      if (streams) await this.deps.ensureStreams();
      await ensureConsumer(this.deps.jsm, this.settings);
    })()
      .catch((error) =>
        this.deps.logger.error({ err: error, durable }, 'could not re-create the durable consumer'),
      )
      .finally(() => {
        this.recreating = undefined;
      });
  }
}

function eventFields(event: LxrRecordedEvent | undefined) {
  return event
    ? { eventId: event.metadata.eventId, eventType: event.type, correlationId: event.metadata.correlationId }
    : {};
}
