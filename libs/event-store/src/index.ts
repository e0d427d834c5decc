export * from './errors.js';
export * from './event-store.js';
export * from './projection.js';
export * from './in-memory/in-memory-event-store.js';
