import type { RecordedEvent } from '@lxr/events';
import type pg from 'pg';
import { EventStoreClosedError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { createSignal } from '../signal.js';
import { connectDedicated, type DedicatedConnection, type PostgresConnection } from './connection.js';
import { EVENTS_CHANNEL } from './database.js';
import { type EventRow, type LogCursor, type LoggedEvent, READ_AFTER_SQL, toLoggedEvent } from './read.js';

/**
 * Saves the checkpoint and reads the batch after it in one round trip: the read that follows a
 * batch is the checkpoint of that batch. ($1, $2: cursor; $3: limit; $4: relay name.)
 */
const SAVE_AND_READ_SQL = `with saved as (
  update lxr_events.outbox_checkpoints set transaction_id = $1::xid8, position = $2, updated_at = now() where name = $4
) ${READ_AFTER_SQL}`;

/** First key of the relay's leader lock (second key: hash of the relay's name). */
const RELAY_LOCK_NAMESPACE = 0x6c787202;

/** How a published event is chained to the one the relay published before it. */
export interface PublishChaining {
  /** Store only after this event id (absent for the first event of a window). */
  readonly expectLastEventId?: string;
}

/** The database the relay reads, the publisher it feeds, and its timing. */
export type OutboxRelayOptions = PostgresConnection & {
  /**
   * Publishes one event and resolves once the broker has it (JetStream's ack). Must be idempotent
   * by `event.metadata.eventId`: after a crash the relay publishes again from its last checkpoint,
   * so use it as JetStream's `msgID` (`Nats-Msg-Id`) and JetStream drops the repeats.
   *
   * With `expectLastEventId`, it must store the event only if the last one stored is that event
   * (JetStream's `expect.lastMsgID`), acknowledging a repeat whatever it says: the relay publishes
   * a window of events at once, each chained to the one before, so a failed event fails every
   * later one in its window and the broker never holds them out of order.
   */
  readonly publish: (event: RecordedEvent, options: PublishChaining) => Promise<void>;
  /**
   * Events published at once (chained, see `publish`); default 64. With 1 the relay waits for
   * each acknowledgement before the next publish and never asks for chaining.
   */
  readonly publishWindow?: number;
  /** Checkpoint and leader lock name, for several independent relays; default `'default'`. */
  readonly name?: string;
  /** Events read (and published) per checkpoint; default 500. */
  readonly batchSize?: number;
  /** Poll interval, the fallback when a notification is lost; default 1 s. */
  readonly pollIntervalMs?: number;
  /** How often a standby tries to become leader; default 1 s. */
  readonly leaderRetryMs?: number;
  /** First delay after losing PostgreSQL or failing to publish; doubles up to 5 s. Default 100 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: Logger;
};

/**
 * Publishes the log to the broker: the events table is the outbox.
 *
 * - **Leader only.** Every relay holds a dedicated connection and tries a session-level
 *   `pg_try_advisory_lock`; the one that gets it is the leader, the others retry every
 *   `leaderRetryMs`. When the leader's process dies its session ends, PostgreSQL releases the lock
 *   and a standby takes over. The leader reads, LISTENs and checkpoints on that same connection, so a
 *   relay that lost its session cannot move the checkpoint any more.
 * - **In log order, at least once, deduplicated.** It reads after its checkpoint in commit order
 *   (the same safe read as `readAll`), publishes a window of events at once, each chained to the one
 *   before (see `publish`), then advances the checkpoint to the last published event — in the same
 *   round trip as the next read, committed without waiting for the WAL flush (on stop, at once). A
 *   crash before that republishes the batch; the broker drops the repeats by event id (JetStream's
 *   duplicate window must cover the time a relay takes to come back).
 * - **Woken** by LISTEN `lxr_events`, polling every `pollIntervalMs` as a fallback; on start, and
 *   after reconnecting, it catches up from the checkpoint.
 * - **Self-healing.** A lost connection (PostgreSQL restarting) or a failed publish is logged and
 *   retried with backoff; `start` never fails for them.
 *
 * @example
 * const relay = createOutboxRelay({
 *   connectionString,
 *   publish: (event, chaining) => bus.publish(event, chaining), // @lxr/bus: msgID, expect.lastMsgID
 *   logger,
 * });
 * await relay.start(); // … await relay.stop() on shutdown
 */
export interface OutboxRelay {
  /** Starts contending for leadership and relaying; resolves at once. */
  start(): Promise<void>;
  /** Finishes the in-flight batch (publishes and checkpoints it), gives up leadership, resolves. */
  stop(): Promise<void>;
  /** True while this relay holds the leader lock. */
  readonly isLeader: boolean;
  /** Events this relay has published (and had acknowledged) since it was created. */
  readonly published: number;
}

/** Creates an {@link OutboxRelay}; nothing connects before `start`. */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const logger = options.logger ?? silentLogger;
  const name = options.name ?? 'default';
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const leaderRetryMs = options.leaderRetryMs ?? 1_000;
  const minRetryDelay = options.retryDelayMs ?? 100;
  const maxRetryDelay = 5_000;
  const { publish } = options;
  const publishWindow = Math.max(1, options.publishWindow ?? 64);

  const wake = createSignal();
  let stopping = false;
  let wakeStopped: () => void = () => {};
  const stoppedPromise = new Promise<void>((resolve) => (wakeStopped = resolve));
  let loop: Promise<void> | undefined;
  let leader = false;
  let published = 0;

  /** Sleeps, but not past `stop()`. */
  const pause = (ms: number) =>
    Promise.race([new Promise<void>((r) => setTimeout(r, ms).unref()), stoppedPromise]);

  /** The relay's checkpoint, created at the start of the log on first use. */
  async function loadCheckpoint(client: pg.ClientBase): Promise<LogCursor> {
    await client.query(
      'insert into lxr_events.outbox_checkpoints (name) values ($1) on conflict (name) do nothing',
      [name],
    );
    const { rows } = await client.query<{ transaction_id: string; position: string }>(
      'select transaction_id::text as transaction_id, position::text as position from lxr_events.outbox_checkpoints where name = $1',
      [name],
    );
    const row = rows[0]!;
    return { transactionId: row.transaction_id, position: Number(row.position) };
  }

  async function saveCheckpoint(client: pg.ClientBase, cursor: LogCursor): Promise<void> {
    await client.query({
      name: 'lxr_events_outbox_checkpoint',
      text: `update lxr_events.outbox_checkpoints set transaction_id = $2::xid8, position = $3, updated_at = now()
             where name = $1`,
      values: [name, cursor.transactionId, cursor.position],
    });
  }

  /** The next batch after `cursor`, saving `cursor` as the checkpoint first when `save`. */
  async function readBatch(client: pg.ClientBase, cursor: LogCursor, save: boolean): Promise<LoggedEvent[]> {
    const values = [cursor.transactionId, cursor.position, batchSize];
    const { rows } = await client.query<EventRow>(
      save
        ? { name: 'lxr_events_outbox_save_read', text: SAVE_AND_READ_SQL, values: [...values, name] }
        : { name: 'lxr_events_read_after', text: READ_AFTER_SQL, values },
    );
    return rows.map(toLoggedEvent);
  }

  /**
   * Publishes a batch in order, a window at a time, stopping at the first failure. Returns the
   * cursor after the last published event and the failure, if any. Inside a window each event is
   * chained to the one before it, so nothing after a failed event is stored; the next attempt
   * starts a new window at the failed event.
   */
  async function publishBatch(
    batch: readonly LoggedEvent[],
    from: LogCursor,
  ): Promise<{ cursor: LogCursor; failure?: unknown }> {
    let cursor = from;
    for (let start = 0; start < batch.length; start += publishWindow) {
      const window = batch.slice(start, start + publishWindow);
      const outcomes = await Promise.allSettled(
        window.map(({ event }, i) =>
          publish(event, i === 0 ? {} : { expectLastEventId: window[i - 1]!.event.metadata.eventId }),
        ),
      );
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'rejected') return { cursor, failure: outcome.reason };
        cursor = window[i]!.cursor;
        published++;
      }
    }
    return { cursor };
  }

  /** Holds leadership on one connection until stopped or the connection fails (throws). */
  async function lead(conn: DedicatedConnection, broken: () => Error | undefined): Promise<void> {
    const { client } = conn;
    const check = () => {
      const error = broken();
      if (error) throw error;
    };
    for (;;) {
      if (stopping) return;
      const { rows } = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock($1, hashtext($2)) as locked',
        [RELAY_LOCK_NAMESPACE, name],
      );
      if (rows[0]?.locked) break;
      await pause(leaderRetryMs);
      check();
    }
    leader = true;
    // The checkpoint need not survive a crash: losing its last updates only means publishing those
    // events again, which the broker drops by event id. So its commits skip the WAL flush wait.
    await client.query('set synchronous_commit = off');
    await client.query(`listen ${EVENTS_CHANNEL}`);
    let cursor = await loadCheckpoint(client);
    logger.info(
      { relay: name, position: cursor.position },
      'outbox relay is the leader; relaying from its checkpoint',
    );
    /** True when `cursor` moved past the stored checkpoint. */
    let unsaved = false;
    let publishDelay = minRetryDelay;
    let idleWaitMs = pollIntervalMs;
    // As if notified: events appended before LISTEN may sit behind the horizon too.
    let notified = true;
    try {
      while (!stopping) {
        check();
        wake.clear();
        const batch = await readBatch(client, cursor, unsaved);
        unsaved = false;
        if (batch.length === 0) {
          // Nothing after a notification means the commit-order horizon: a committed event waits
          // behind an older transaction still running, which may never notify (a projection's).
          // Look again soon, backing off; otherwise sleep until notified or the poll interval.
          idleWaitMs = notified ? 2 : Math.min(idleWaitMs * 2, pollIntervalMs);
          notified = await wake.wait(idleWaitMs);
          continue;
        }
        idleWaitMs = pollIntervalMs;
        notified = false;
        const result = await publishBatch(batch, cursor);
        unsaved = result.cursor !== cursor;
        cursor = result.cursor;
        if (result.failure === undefined) {
          publishDelay = minRetryDelay;
          continue;
        }
        logger.warn(
          { err: result.failure, relay: name, position: cursor.position, retryInMs: publishDelay },
          'outbox relay could not publish; retrying from the last published event',
        );
        await pause(publishDelay);
        publishDelay = Math.min(publishDelay * 2, maxRetryDelay);
      }
    } finally {
      // Stopping (or losing PostgreSQL, when this fails too): keep what was published.
      if (unsaved && !broken()) await saveCheckpoint(client, cursor);
    }
  }

  async function run(): Promise<void> {
    let delay = minRetryDelay;
    while (!stopping) {
      let conn: DedicatedConnection | undefined;
      let broken: Error | undefined;
      try {
        conn = await connectDedicated(options);
        const fail = (error: Error) => {
          broken ??= error;
          wake.notify();
        };
        conn.client.on('error', fail);
        conn.client.on('end', () => fail(new Error('PostgreSQL connection ended')));
        conn.client.on('notification', (message) => {
          if (message.channel === EVENTS_CHANNEL) wake.notify();
        });
        delay = minRetryDelay;
        await lead(conn, () => broken);
      } catch (error) {
        if (!stopping) {
          logger.warn(
            { err: error, relay: name, retryInMs: delay },
            'outbox relay lost PostgreSQL; reconnecting',
          );
        }
      } finally {
        if (leader) logger.info({ relay: name }, 'outbox relay gave up leadership');
        leader = false;
        // Ending the session releases the advisory lock.
        await conn?.release();
      }
      if (!stopping) {
        await pause(delay);
        delay = Math.min(delay * 2, maxRetryDelay);
      }
    }
  }

  return {
    get isLeader() {
      return leader;
    },
    get published() {
      return published;
    },
    async start() {
      if (stopping) throw new EventStoreClosedError(`outbox relay "${name}"`);
      loop ??= run();
    },
    async stop() {
      stopping = true;
      wakeStopped();
      wake.notify();
      await loop;
    },
  };
}
