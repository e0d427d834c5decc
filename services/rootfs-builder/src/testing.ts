// The rootfs-builder's parts for benchmarks and other packages' tests (`@lxr/rootfs-builder/testing`):
// the layer cache, the per-container overlays and the volumes without the service around them.
export { ContainerRootfs } from './container-rootfs.js';
export { LayerCache, type LayerSource } from './layer-cache.js';
export { Mounter, mountPoints } from './mounts.js';
export { VolumeStore } from './volumes/index.js';
