export * from './common-config.js';
export * from './config.js';
export * from './errors.js';
export * from './health.js';
export * from './heartbeat.js';
export * from './logger.js';
export * from './nodes.js';
export * from './service.js';
