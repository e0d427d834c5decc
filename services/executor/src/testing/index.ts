export * from './harness.js';
export * from './rootfs-stand-in.js';
