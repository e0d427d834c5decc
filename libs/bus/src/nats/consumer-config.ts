import { EVENT_SUBJECT_PREFIX, EVENTS_STREAM } from '@lxr/events';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  nanos,
  ReplayPolicy,
} from 'nats';
import type { SubscribeOptions } from '../bus.js';
import { BusError, BusErrorCode, messageOf } from '../errors.js';
import { ALL_EVENTS_SUBJECT, isNotFound } from './streams.js';

/** Default attempts before an event is dead-lettered. */
export const DEFAULT_MAX_DELIVER = 5;
/** Default redelivery delays after a handler failure. */
export const DEFAULT_BACKOFF_MS: readonly number[] = [100, 1_000, 5_000, 30_000];
/**
 * Default time the server waits for an ack before redelivering (the process died). Short, because
 * a dead process also holds what JetStream handed to its last pull request: with `max_ack_pending`
 * = concurrency those events block the durable until they time out, so a restarted service would
 * sit idle this long. Running handlers report progress every third of it, so they keep their events.
 */
export const DEFAULT_ACK_WAIT_MS = 5_000;

/** {@link SubscribeOptions} with every default filled in and checked. */
export interface SubscriptionSettings {
  readonly durable: string;
  readonly filterSubject: string;
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
  readonly concurrency: number;
  readonly ackWaitMs: number;
  readonly handler: SubscribeOptions['handler'];
}

const DURABLE = /^[A-Za-z0-9_-]{1,64}$/;
const isCount = (n: number) => Number.isSafeInteger(n) && n >= 1;

/** Fills in defaults and rejects nonsense with `BUS_INVALID_OPTIONS`, naming every problem. */
export function subscriptionSettings(options: SubscribeOptions): SubscriptionSettings {
  const settings: SubscriptionSettings = {
    durable: options.durable,
    filterSubject: options.filterSubject ?? ALL_EVENTS_SUBJECT,
    maxDeliver: options.maxDeliver ?? DEFAULT_MAX_DELIVER,
    backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
    concurrency: options.concurrency ?? 1,
    ackWaitMs: options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
    handler: options.handler,
  };
  const problems: string[] = [];
  if (!DURABLE.test(settings.durable)) problems.push(`durable "${settings.durable}" must match ${DURABLE}`);
  if (!settings.filterSubject.startsWith(`${EVENT_SUBJECT_PREFIX}.`)) {
    problems.push(`filterSubject "${settings.filterSubject}" must start with "${EVENT_SUBJECT_PREFIX}."`);
  }
  if (!isCount(settings.maxDeliver)) problems.push('maxDeliver must be an integer >= 1');
  if (
    settings.backoffMs.length === 0 ||
    !settings.backoffMs.every((ms) => Number.isSafeInteger(ms) && ms >= 0)
  ) {
    problems.push('backoffMs must be a non-empty list of integers >= 0');
  }
  if (!isCount(settings.concurrency)) problems.push('concurrency must be an integer >= 1');
  if (!Number.isSafeInteger(settings.ackWaitMs) || settings.ackWaitMs < 1_000) {
    problems.push('ackWaitMs must be an integer >= 1000');
  }
  if (typeof settings.handler !== 'function') problems.push('handler must be a function');
  if (problems.length > 0) {
    throw new BusError(BusErrorCode.InvalidOptions, `invalid subscription: ${problems.join('; ')}`);
  }
  return settings;
}

/** The delay before redelivering after the `deliveryCount`-th attempt failed. */
export function backoffDelay(backoffMs: readonly number[], deliveryCount: number): number {
  return backoffMs[Math.min(Math.max(deliveryCount, 1), backoffMs.length) - 1]!;
}

/**
 * The JetStream consumer for a subscription.
 *
 * - `max_ack_pending` = concurrency: with 1, the server hands out the next event only once the
 *   previous one is acked or terminated, so order holds across retries.
 * - `max_deliver` = maxDeliver + 1: the bus itself dead-letters after the maxDeliver-th failure;
 *   the one extra delivery lets it dead-letter an event whose handler kept killing the process
 *   (so nobody acked) instead of the server silently dropping it.
 * - `backoff` paces redeliveries after ack timeouts (a dead process) like the handler-failure
 *   backoff, but never sooner than the ack wait. Handler failures are nak'ed with an explicit delay.
 */
export function consumerConfig(settings: SubscriptionSettings): Partial<ConsumerConfig> {
  const attempts = Math.min(settings.backoffMs.length, settings.maxDeliver);
  const backoff = Array.from({ length: attempts }, (_, i) =>
    nanos(Math.max(settings.ackWaitMs, backoffDelay(settings.backoffMs, i + 1))),
  );
  return {
    durable_name: settings.durable,
    description: `lxr durable consumer ${settings.durable}`,
    filter_subject: settings.filterSubject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: backoff[0] ?? nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver + 1,
    backoff,
    max_ack_pending: settings.concurrency,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
  };
}

const sameNumbers = (a: readonly number[] | undefined, b: readonly number[] | undefined) =>
  (a ?? []).join() === (b ?? []).join();

/**
 * Creates the durable consumer, or updates its mutable settings. A durable whose filter subject
 * differs cannot be changed in place (nats-server 2.9): that is `BUS_SUBSCRIBE_FAILED`.
 */
export async function ensureConsumer(jsm: JetStreamManager, settings: SubscriptionSettings): Promise<void> {
  const config = consumerConfig(settings);
  let info: ConsumerInfo | undefined;
  try {
    try {
      info = await jsm.consumers.info(EVENTS_STREAM, settings.durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!info) {
      await jsm.consumers.add(EVENTS_STREAM, config);
      return;
    }
  } catch (error) {
    throw new BusError(
      BusErrorCode.SubscribeFailed,
      `could not create the durable consumer "${settings.durable}" on ${EVENTS_STREAM}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const existing = info.config;
  const existingFilter = existing.filter_subject || ALL_EVENTS_SUBJECT;
  if (existingFilter !== settings.filterSubject) {
    throw new BusError(
      BusErrorCode.SubscribeFailed,
      `durable consumer "${settings.durable}" already exists with filter subject "${existingFilter}", ` +
        `not "${settings.filterSubject}": use another durable name, or delete the consumer first`,
    );
  }
  if (
    existing.ack_wait !== config.ack_wait ||
    existing.max_deliver !== config.max_deliver ||
    existing.max_ack_pending !== config.max_ack_pending ||
    !sameNumbers(existing.backoff, config.backoff)
  ) {
    try {
      await jsm.consumers.update(EVENTS_STREAM, settings.durable, {
        ack_wait: config.ack_wait!,
        max_deliver: config.max_deliver!,
        max_ack_pending: config.max_ack_pending!,
        backoff: config.backoff!,
      });
    } catch (error) {
      throw new BusError(
        BusErrorCode.SubscribeFailed,
        `could not update the durable consumer "${settings.durable}": ${messageOf(error)}`,
        { cause: error },
      );
    }
  }
}
