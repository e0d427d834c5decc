export * from './client.js';
export * from './config.js';
export * from './errors.js';
export * from './exec.js';
export * from './images.js';
export { parseEventStream, type SseMessage } from './sse.js';
export * from './types.js';
export * from './volumes.js';
