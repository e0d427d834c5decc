/**
 * PostgreSQL settings the event store is tuned and benchmarked with (`bench/`), all compatible with
 * full durability (`fsync=on`, `synchronous_commit=on`). Apply them with `ALTER SYSTEM SET` or in
 * `postgresql.conf`; the values are strings as PostgreSQL takes them.
 */
export const RECOMMENDED_POSTGRES_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
});
