// The rootfs-builder's parts for benchmarks and other packages' tests (`@lxr/rootfs-builder/testing`):
// the layer cache and the per-container overlays without the service around them.
export { ContainerRootfs } from './container-rootfs.js';
export { LayerCache, type LayerSource } from './layer-cache.js';
export { Mounter, mountPoints } from './mounts.js';
