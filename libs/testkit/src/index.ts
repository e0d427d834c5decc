export * from './ports.js';
export * from './process.js';
export * from './nats.js';
export * from './postgres.js';
export * from './root.js';
