/**
 * PostgreSQL settings the event store is benchmarked with (`npm run bench`), for `ALTER SYSTEM SET`
 * or `postgresql.conf`; values are strings as PostgreSQL takes them.
 *
 * - Durability stays on: `fsync`, `synchronous_commit` and `full_page_writes`. Throughput comes
 *   from the store instead: concurrent appends share one statement and one WAL flush (group commit
 *   in the append queue), and the outbox relay commits its checkpoints asynchronously on its own
 *   session (a lost checkpoint update only republishes events the broker deduplicates).
 * - Fewer checkpoints (`max_wal_size`, `checkpoint_timeout`): after each checkpoint the first change
 *   to every page writes a full page image to the WAL, which swells commits; an append-only log
 *   with indexes touches many pages.
 *
 * Size `shared_buffers` to the host (a quarter of RAM is the usual start) and `max_connections` to
 * the pools: each store pool (default 10) plus one connection per relay and per LISTEN.
 */
export const RECOMMENDED_POSTGRES_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_wal_size: '4GB',
  checkpoint_timeout: '15min',
});
