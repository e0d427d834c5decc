/**
 * The variables that move `compose.yaml`'s listening ports off their defaults (7422, 7432, 7420 and
 * the services' health ports 7441–7445). Tests and benchmarks give each a free port so that several
 * platforms — and a real `lxr up` — run side by side.
 */
export const COMPOSE_PORT_VARIABLES: readonly string[] = [
  'LXR_NATS_PORT',
  'LXR_PG_PORT',
  'LXR_API_PORT',
  'LXR_IMAGE_PULLER_HEALTH_PORT',
  'LXR_ROOTFS_BUILDER_HEALTH_PORT',
  'LXR_NETWORK_ALLOCATOR_HEALTH_PORT',
  'LXR_EXECUTOR_HEALTH_PORT',
  'LXR_IDE_LAUNCHER_HEALTH_PORT',
];
