export * from './images.js';
export * from './nats.js';
export * from './ports.js';
export * from './postgres.js';
export * from './process.js';
export * from './registry.js';
export * from './root.js';
export * from './wait.js';
