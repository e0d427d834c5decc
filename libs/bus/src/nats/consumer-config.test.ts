import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckPolicy, nanos } from 'nats';
import { BusErrorCode } from '../errors.js';
import { backoffDelay, consumerConfig, subscriptionSettings } from './consumer-config.js';

const handler = async () => {};

describe('subscription settings', () => {
  it('fills in the documented defaults', () => {
    const s = subscriptionSettings({ durable: 'image-puller', handler });
    assert.equal(s.filterSubject, 'lxr.events.>');
    assert.equal(s.maxDeliver, 5);
    assert.deepEqual(s.backoffMs, [100, 1_000, 5_000, 30_000]);
    assert.equal(s.concurrency, 1);
    assert.equal(s.ackWaitMs, 5_000);
  });

  it('names every bad option in one error', () => {
    assert.throws(
      () =>
        subscriptionSettings({
          durable: 'has space',
          filterSubject: 'other.>',
          maxDeliver: 1.5,
          backoffMs: [],
          concurrency: 0,
          ackWaitMs: 10,
          handler,
        }),
      (e: Error & { code: string }) => {
        assert.equal(e.code, BusErrorCode.InvalidOptions);
        for (const word of [
          'durable',
          'filterSubject',
          'maxDeliver',
          'backoffMs',
          'concurrency',
          'ackWaitMs',
        ]) {
          assert.match(e.message, new RegExp(word));
        }
        return true;
      },
    );
  });

  it('picks the backoff by delivery count, repeating the last', () => {
    const backoff = [100, 1_000, 5_000];
    assert.deepEqual(
      [1, 2, 3, 4, 9].map((n) => backoffDelay(backoff, n)),
      [100, 1_000, 5_000, 5_000, 5_000],
    );
  });

  it('maps to a JetStream consumer that keeps order and leaves the last word to the bus', () => {
    const config = consumerConfig(
      subscriptionSettings({ durable: 'x', handler, maxDeliver: 3, concurrency: 2 }),
    );
    assert.equal(config.ack_policy, AckPolicy.Explicit);
    assert.equal(config.max_ack_pending, 2);
    assert.equal(config.max_deliver, 4);
    // Ack-timeout redeliveries are never sooner than the ack wait.
    assert.deepEqual(config.backoff, [nanos(5_000), nanos(5_000), nanos(5_000)]);
    assert.equal(config.ack_wait, nanos(5_000));
  });
});
