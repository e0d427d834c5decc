import { DEFAULT_ACK_WAIT_MS } from '@lxr/bus';
import { field } from '@lxr/service-kit';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * The network-allocator's own variables (besides the service kit's `LXR_HOME`, `LXR_NATS_URL`,
 * `LXR_DATABASE_URL`, `LXR_NODE_NAME`, …). Tests give every run its own bridge, chains and name
 * prefixes, so they never touch a running lxr's `lxr0` or `LXR-*` chains.
 */
export const networkConfigSpec = {
  pool: field.string('LXR_NETWORK_POOL', {
    optional: true,
    description:
      'the cluster address pool (CIDR); the first of 10.88.0.0/16, 10.89.0.0/16, … that clashes with nothing',
  }),
  subnetPrefixLength: field.integer('LXR_NETWORK_SUBNET_PREFIX', {
    default: 24,
    min: 8,
    max: 30,
    description: 'prefix length of the subnet each node leases',
  }),
  bridge: field.string('LXR_BRIDGE', { default: 'lxr0', pattern: IFNAME, patternHint: 'an interface name' }),
  chainPrefix: field.string('LXR_IPTABLES_PREFIX', {
    default: 'LXR',
    pattern: /^[A-Z][A-Z0-9_]{0,14}$/,
    patternHint: 'upper-case letters, digits and _ (at most 15)',
  }),
  netnsPrefix: field.string('LXR_NETNS_PREFIX', {
    default: 'lxr-',
    pattern: /^[a-z0-9][a-z0-9_-]{0,15}$/,
    patternHint: 'lower-case letters, digits, _ and -',
  }),
  vethPrefix: field.string('LXR_VETH_PREFIX', {
    default: 'lxv',
    pattern: /^[a-z][a-z0-9]{0,5}$/,
    patternHint: 'lower-case letters and digits, at most 6',
  }),
  dns: field.string('LXR_DNS', {
    default: '8.8.8.8,8.8.4.4',
    pattern: /^\d{1,3}(\.\d{1,3}){3}(,\d{1,3}(\.\d{1,3}){3})*$/,
    patternHint: 'comma-separated IPv4 addresses',
    description: 'nameservers for containers when the host has none they can reach',
  }),
  reconcileIntervalMs: field.integer('LXR_NETWORK_RECONCILE_MS', { default: 30_000, min: 100 }),
  ackWaitMs: field.integer('LXR_NETWORK_ACK_WAIT_MS', {
    default: DEFAULT_ACK_WAIT_MS,
    min: 1_000,
    description: 'how long events a killed allocator held wait before they are redelivered',
  }),
  warm: field.integer('LXR_NETWORK_WARM', {
    default: 4,
    min: 0,
    max: 256,
    description:
      'namespaces (with veth pairs) made ahead of requests, so wiring a container starts no process',
  }),
  concurrency: field.integer('LXR_NETWORK_CONCURRENCY', { default: 32, min: 1, max: 1024 }),
};
