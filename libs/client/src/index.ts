export * from './types.js';
export * from './errors.js';
export * from './config.js';
export * from './client.js';
export { parseEventStream, type SseMessage } from './sse.js';
