export * from './metadata.js';
export * from './ids.js';
export * from './errors.js';
export * from './container.events.js';
export * from './catalog.js';
export * from './subjects.js';
