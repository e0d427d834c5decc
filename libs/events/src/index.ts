export * from './catalog.js';
export * from './container.events.js';
export * from './errors.js';
export * from './ids.js';
export * from './image.events.js';
export * from './metadata.js';
export * from './network.events.js';
export * from './subjects.js';
