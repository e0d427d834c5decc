import type { NewEvent } from '@lxr/events';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { prepareAppend } from '../append-request.js';
import { EventStoreClosedError } from '../errors.js';
import type {
  AppendRequest,
  AppendResult,
  EventStore,
  ExpectedVersion,
  ReadAllOptions,
  ReadStreamOptions,
} from '../event-store.js';
import { type Logger, silentLogger } from '../logger.js';
import { AppendQueue, type AppendQueueOptions } from './append-queue.js';
import { openPool, type PostgresConnection } from './connection.js';
import type { Database } from './database.js';
import { migrateEventStore } from './migrator.js';
import { type AppendNotifications, createAppendNotifications } from './notifications.js';
import { currentStreamVersion, readAfterPosition, readStreamEvents } from './read.js';

/** The database of {@link createPostgresEventStore}, and its tuning. */
export type PostgresEventStoreOptions = PostgresConnection & {
  readonly logger?: Logger;
  /** How concurrent appends share statements (group commit); the defaults suit most uses. */
  readonly appendQueue?: AppendQueueOptions;
};

/**
 * The event log in PostgreSQL (`lxr_events.events`).
 *
 * - An append is one statement (one round trip, one transaction, however many streams): the
 *   expected-version checks, the inserts and `pg_notify('lxr_events', …)` commit together.
 *   Appends made while earlier ones are in flight leave together in the next statement (group
 *   commit, see {@link AppendQueueOptions}); each stays all-or-nothing on its own.
 * - `readAll` returns events **in commit order, not in numeric position order**: it reads only rows
 *   of transactions older than every running transaction (`pg_snapshot_xmin`) and orders them by
 *   `(transaction_id, position)`, so an event whose transaction took an earlier position but commits
 *   later is never skipped. Its `after` cursor is a position the store returned (0 = the start).
 *   A long-running write transaction anywhere in the cluster delays (never reorders) what it sees.
 *
 * Recommended server settings for throughput with full durability are in {@link RECOMMENDED_POSTGRES_SETTINGS}.
 *
 * @example
 * const store = createPostgresEventStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 * await store.append(`container-${id}`, 'no-stream', [event]);
 */
export interface PostgresEventStore extends EventStore {
  /** Kysely over the store's pool, for projections and queries next to the log. */
  readonly db: Kysely<Database>;
  /** The pool the store runs on (its own, or the one it was given). */
  readonly pool: pg.Pool;
  /** Wake-ups after appends (LISTEN `lxr_events`; one extra connection from the first subscriber on). */
  readonly notifications: AppendNotifications;
  /** Creates or updates the store's schema; idempotent and safe to race. */
  migrate(): Promise<void>;
}

/**
 * Creates a {@link PostgresEventStore}. With `connectionString` it opens (and `close` ends) its own
 * pool; with `pool` it shares the caller's and leaves it open.
 */
export function createPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const logger = options.logger ?? silentLogger;
  const { pool, owned } = openPool(options, logger);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const notifications = createAppendNotifications({ connection: { pool }, logger });
  const queue = new AppendQueue(pool, options.appendQueue);
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new EventStoreClosedError('PostgreSQL event store');
  };

  const appendMany = async (requests: readonly AppendRequest[]): Promise<readonly AppendResult[]> => {
    ensureOpen();
    const prepared = prepareAppend(requests);
    if (prepared.length === 0) return [];
    return queue.append(prepared);
  };

  return {
    db,
    pool,
    notifications,
    async migrate() {
      ensureOpen();
      await migrateEventStore(db);
    },
    async append(stream: string, expectedVersion: ExpectedVersion, events: readonly NewEvent[]) {
      const [result] = await appendMany([{ stream, expectedVersion, events }]);
      return result!;
    },
    appendMany,
    async readStream(stream: string, options: ReadStreamOptions = {}) {
      ensureOpen();
      return readStreamEvents(pool, stream, options.fromVersion ?? 1, options.limit);
    },
    async streamVersion(stream: string) {
      ensureOpen();
      return currentStreamVersion(pool, stream);
    },
    async readAll(options: ReadAllOptions = {}) {
      ensureOpen();
      return readAfterPosition(db, options.after ?? 0, options.limit);
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.drained();
      await notifications.close();
      if (owned) {
        await db.destroy();
        // kysely ends the pool only if it ever ran a query; appends and reads use the pool directly.
        if (!pool.ending) await pool.end();
      }
    },
  };
}
