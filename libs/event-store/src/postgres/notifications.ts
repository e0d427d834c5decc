import { type Logger, silentLogger } from '../logger.js';
import { connectDedicated, type DedicatedConnection, type PostgresConnection } from './connection.js';
import { EVENTS_CHANNEL } from './database.js';

/**
 * Wake-ups after appends: every append transaction runs `pg_notify('lxr_events', <last position>)`,
 * delivered when it commits. A notification is a hint to read, not data: readers always read from
 * their cursor, and keep polling as a fallback.
 */
export interface AppendNotifications {
  /**
   * Calls `listener` after each notifying commit, and after a reconnect (notifications sent while
   * disconnected are lost). Returns the unsubscribe function.
   */
  subscribe(listener: () => void): () => void;
}

/** {@link AppendNotifications} over one dedicated LISTEN connection, reconnected when it drops. */
export interface PostgresAppendNotifications extends AppendNotifications {
  /** Ends the LISTEN connection; subscribers get no more calls. */
  close(): Promise<void>;
}

/** Where and how {@link createAppendNotifications} listens. */
export interface AppendNotificationsOptions {
  /** The database to LISTEN on (a pool lends one connection for good). */
  readonly connection: PostgresConnection;
  readonly logger?: Logger;
  /** Delay before the first reconnect; doubles up to `maxReconnectDelayMs`. Default 100 ms. */
  readonly reconnectDelayMs?: number;
  /** Default 5 s. */
  readonly maxReconnectDelayMs?: number;
}

/**
 * LISTENs on `lxr_events` from the first `subscribe` on, on its own connection, until `close`.
 *
 * @example
 * const notifications = createAppendNotifications({ connection: { connectionString } });
 * const off = notifications.subscribe(() => reader.wake());
 */
export function createAppendNotifications(options: AppendNotificationsOptions): PostgresAppendNotifications {
  const logger = options.logger ?? silentLogger;
  const minDelay = options.reconnectDelayMs ?? 100;
  const maxDelay = options.maxReconnectDelayMs ?? 5_000;
  const listeners = new Set<() => void>();
  let connection: DedicatedConnection | undefined;
  let connecting: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = minDelay;
  let closed = false;

  const emit = () => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        logger.error({ err: error }, 'append notification listener threw');
      }
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
    retryTimer.unref();
    delay = Math.min(delay * 2, maxDelay);
  };

  const connect = (): Promise<void> => {
    connecting ??= (async () => {
      let conn: DedicatedConnection | undefined;
      try {
        conn = await connectDedicated(options.connection);
        const lost = (error: Error) => {
          if (connection !== conn) return;
          connection = undefined;
          logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
          void conn?.release();
          scheduleReconnect();
        };
        conn.client.on('error', lost);
        conn.client.on('end', () => lost(new Error('connection ended')));
        conn.client.on('notification', (message) => {
          if (message.channel === EVENTS_CHANNEL) emit();
        });
        await conn.client.query(`listen ${EVENTS_CHANNEL}`);
        if (closed) {
          await conn.release();
          return;
        }
        connection = conn;
        delay = minDelay;
        emit(); // anything appended while we were not listening
      } catch (error) {
        await conn?.release();
        logger.warn({ err: error }, 'cannot LISTEN for appends; retrying');
        scheduleReconnect();
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (!closed && !connection && !connecting && !retryTimer) void connect();
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      clearTimeout(retryTimer);
      await connecting;
      const conn = connection;
      connection = undefined;
      await conn?.release();
    },
  };
}
