export * from './harness.js';
export * from './leftovers.js';
