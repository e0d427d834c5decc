export * from './errors.js';
export * from './event-store.js';
export * from './in-memory/in-memory-event-store.js';
export * from './logger.js';
export type { AppendQueueOptions } from './postgres/append-queue.js';
export type { PostgresConnection } from './postgres/connection.js';
export type {
  Database as EventStoreDatabase,
  EventsTable,
  OutboxCheckpointsTable,
  ProjectionCheckpointsTable,
} from './postgres/database.js';
export { EVENT_STORE_SCHEMA, EVENTS_CHANNEL } from './postgres/database.js';
export * from './postgres/migrator.js';
export * from './postgres/notifications.js';
export * from './postgres/outbox-relay.js';
export * from './postgres/postgres-event-store.js';
export * from './postgres/projection-runner.js';
export * from './postgres/settings.js';
export * from './projection.js';
