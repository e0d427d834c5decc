import { type Kysely, sql, type Transaction } from 'kysely';
import { UnknownProjectionError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Projection, ProjectionRunner } from '../projection.js';
import type { Database } from './database.js';
import type { AppendNotifications } from './notifications.js';
import { LOG_START, type LogCursor, readAfter } from './read.js';

/** First key of the advisory locks serialising work on one projection (second key: hash of its name). */
const PROJECTION_LOCK_NAMESPACE = 0x6c787201;

/** What {@link createProjectionRunner} runs, and how often it looks for new events. */
export interface ProjectionRunnerOptions<DB> {
  /** Kysely on the database holding both the log and the read models (e.g. `store.db.withTables<T>()`). */
  readonly db: Kysely<DB>;
  readonly projections: readonly Projection<DB>[];
  /** Wake-ups after appends, e.g. `store.notifications`; without them the runner only polls. */
  readonly notifications?: AppendNotifications;
  /** Poll interval, the fallback when a notification is lost; default 1 s. */
  readonly pollIntervalMs?: number;
  /** Events applied per transaction; default 500. */
  readonly batchSize?: number;
  readonly logger?: Logger;
}

/**
 * Creates a {@link ProjectionRunner} over PostgreSQL. For each projection, in batches:
 *
 * 1. one transaction takes the projection's advisory lock (so several processes may run the same
 *    projections: they take turns and never apply an event twice),
 * 2. reads its checkpoint; a missing one or a lower `version` resets the read model (a rebuild),
 * 3. reads the next events in commit order after the checkpoint (the same safe read as `readAll`),
 * 4. applies those of the types it handles and moves the checkpoint past all of them,
 * 5. commits: read model and checkpoint change together or not at all.
 *
 * A runner with a projection `version` lower than the checkpoint's (an old process during a
 * rolling deploy) leaves that projection alone and logs a warning.
 *
 * @example
 * const runner = createProjectionRunner({
 *   db: store.db.withTables<GatewayTables>(), projections: [containers], notifications: store.notifications,
 * });
 * await runner.start();
 */
export function createProjectionRunner<DB>(options: ProjectionRunnerOptions<DB>): ProjectionRunner {
  const { db, projections } = options;
  const logger = options.logger ?? silentLogger;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const byName = new Map(projections.map((p) => [p.name, p]));
  if (byName.size !== projections.length) throw new Error('projection names must be unique');
  const handles = new Map(projections.map((p) => [p.name, new Set(p.handles)]));

  /** One batch in one transaction; returns how many events it consumed (applied or skipped). */
  const runBatch = (projection: Projection<DB>, rebuild: boolean): Promise<number> =>
    db.transaction().execute(async (trx) => {
      const t = trx as unknown as Transaction<Database>;
      // A crash may lose the last batches, but read model and checkpoint together (they share this
      // transaction), and they are replayed from the log: no need to wait for the WAL flush. The
      // checkpoint is read by the next statement: this one's snapshot predates the lock wait.
      await sql`select pg_advisory_xact_lock(${PROJECTION_LOCK_NAMESPACE}, hashtext(${projection.name})),
        set_config('synchronous_commit', 'off', true)`.execute(t);
      const checkpoint = await t
        .selectFrom('lxr_events.projection_checkpoints')
        .select((eb) => [
          'version',
          eb.cast<string>('transaction_id', 'text').as('transaction_id'),
          'position',
        ])
        .where('name', '=', projection.name)
        .executeTakeFirst();
      let cursor: LogCursor;
      let moved = false;
      if (checkpoint && checkpoint.version > projection.version) {
        logger.warn(
          { projection: projection.name, version: projection.version, checkpointVersion: checkpoint.version },
          'projection is older than its read model; leaving it to the newer runner',
        );
        return 0;
      }
      if (rebuild || !checkpoint || checkpoint.version < projection.version) {
        logger.info(
          { projection: projection.name, version: projection.version, from: checkpoint?.version ?? null },
          'rebuilding projection from the start of the log',
        );
        await projection.reset(trx);
        cursor = LOG_START;
        moved = true;
      } else {
        cursor = { transactionId: checkpoint.transaction_id, position: Number(checkpoint.position) };
      }
      const events = await readAfter(t, cursor, batchSize);
      const types = handles.get(projection.name)!;
      for (const { event } of events) {
        if (types.has(event.type)) await projection.apply(trx, event);
      }
      if (events.length > 0) {
        cursor = events.at(-1)!.cursor;
        moved = true;
      }
      if (moved) {
        const row = {
          name: projection.name,
          version: projection.version,
          transaction_id: cursor.transactionId,
          position: cursor.position,
        };
        await t
          .insertInto('lxr_events.projection_checkpoints')
          .values(row)
          .onConflict((oc) =>
            oc.column('name').doUpdateSet({
              version: row.version,
              transaction_id: row.transaction_id,
              position: row.position,
              updated_at: sql`now()`,
            }),
          )
          .execute();
      }
      return events.length;
    });

  const catchUpOne = async (projection: Projection<DB>, rebuild = false): Promise<void> => {
    let first = rebuild;
    for (;;) {
      const consumed = await runBatch(projection, first);
      first = false;
      // A short batch read everything that was safely visible: caught up.
      if (consumed < batchSize) return;
    }
  };

  const pass = async (): Promise<void> => {
    for (const projection of projections) await catchUpOne(projection);
  };

  // catchUp coalesces: a call during a pass waits for one more pass that starts after it.
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const catchUp = (): Promise<void> => {
    if (!running) {
      running = pass().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return catchUp();
      });
    return queued;
  };

  let started = false;
  let unsubscribe: (() => void) | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  const wake = () => {
    if (!started) return;
    catchUp().catch((error: unknown) =>
      logger.error({ err: error }, 'projection catch-up failed; retrying on the next wake-up'),
    );
  };
  const poll = () => {
    pollTimer = setTimeout(() => {
      wake();
      if (started) poll();
    }, pollIntervalMs);
    pollTimer.unref();
  };

  return {
    catchUp,
    async rebuild(name) {
      const projection = byName.get(name);
      if (!projection) throw new UnknownProjectionError(name, [...byName.keys()]);
      await catchUpOne(projection, true);
    },
    async checkpoints() {
      if (projections.length === 0) return {};
      const rows = await (db as unknown as Kysely<Database>)
        .selectFrom('lxr_events.projection_checkpoints')
        .select(['name', 'position'])
        .where(
          'name',
          'in',
          projections.map((p) => p.name),
        )
        .execute();
      const result: Record<string, number> = Object.fromEntries(projections.map((p) => [p.name, 0]));
      for (const row of rows) result[row.name] = Number(row.position);
      return result;
    },
    async start() {
      if (started) return;
      started = true;
      unsubscribe = options.notifications?.subscribe(wake);
      poll();
      wake();
    },
    async stop() {
      started = false;
      unsubscribe?.();
      unsubscribe = undefined;
      clearTimeout(pollTimer);
      await Promise.allSettled([running, queued]);
    },
  };
}
