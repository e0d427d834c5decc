import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * How to reach PostgreSQL: a connection string (the component opens and owns its pool or
 * connection) or an existing `pg.Pool` (shared; the component never ends it).
 */
export type PostgresConnection =
  | {
      readonly connectionString: string;
      /** Pool size when the component opens its own pool; default 10. */
      readonly maxConnections?: number;
    }
  | { readonly pool: pg.Pool };

/** A pool for `connection`, and whether the caller owns (and must end) it. */
export function openPool(connection: PostgresConnection, logger: Logger): { pool: pg.Pool; owned: boolean } {
  if ('pool' in connection) return { pool: connection.pool, owned: false };
  const pool = new pg.Pool({
    connectionString: connection.connectionString,
    max: connection.maxConnections ?? 10,
    keepAlive: true,
  });
  // An idle client losing its server (a PostgreSQL restart) is emitted here; the pool drops it and
  // opens a new one on the next query. Without a listener the process would crash.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection lost'));
  return { pool, owned: true };
}

/** One connection held for a long time (LISTEN, a session advisory lock), outside pool churn. */
export interface DedicatedConnection {
  readonly client: pg.ClientBase;
  /**
   * Ends the connection. One lent by a pool is destroyed, never handed back for reuse: its session
   * may hold LISTEN or advisory locks.
   */
  release(): Promise<void>;
}

/** Opens a dedicated connection: a new client, or one checked out of the given pool for good. */
export async function connectDedicated(connection: PostgresConnection): Promise<DedicatedConnection> {
  if ('pool' in connection) {
    const client = await connection.pool.connect();
    let released = false;
    return {
      client,
      async release() {
        if (released) return;
        released = true;
        client.release(true);
      },
    };
  }
  const client = new pg.Client({ connectionString: connection.connectionString, keepAlive: true });
  // Until the owner installs its own handler, a connection error must not crash the process.
  const swallow = () => {};
  client.on('error', swallow);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  let ended = false;
  return {
    client,
    async release() {
      if (ended) return;
      ended = true;
      await client.end().catch(() => {});
    },
  };
}
