import { hostname } from 'node:os';
import { type ConfigOf, field } from './config.js';

/** Log levels, most to least severe; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Node names: DNS-label-like words (letters, digits, `-`, `_`) joined by dots, as hostnames are.
 * They are part of NATS KV keys (`<node>.<service>`), hence the restriction.
 */
export const NODE_NAME_PATTERN =
  /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/;

/** This host's name made into a valid node name. */
export function defaultNodeName(): string {
  const name = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return NODE_NAME_PATTERN.test(name) ? name : 'localhost';
}

/**
 * The variables every lxr service reads:
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `LXR_HOME` | `/var/lib/lxr` | state directory (absolute path) |
 * | `LXR_NATS_URL` | `nats://127.0.0.1:4222` | NATS server URL(s), comma-separated |
 * | `LXR_DATABASE_URL` | unset | PostgreSQL URL, for services that use the event log |
 * | `LXR_NODE_NAME` | this host's name | the node this process runs on |
 * | `LXR_LOG_LEVEL` | `info` | `fatal` … `trace`, or `silent` |
 * | `LXR_HEALTH_PORT` | `0` (off) | port of `/healthz` and `/readyz` |
 * | `LXR_HEALTH_HOST` | `127.0.0.1` | address the health server listens on |
 */
export const commonConfigSpec = {
  home: field.string('LXR_HOME', {
    default: '/var/lib/lxr',
    pattern: /^\//,
    patternHint: 'an absolute path',
    description: 'the state directory',
  }),
  natsServers: field.urls('LXR_NATS_URL', {
    default: ['nats://127.0.0.1:4222'],
    protocols: ['nats:', 'tls:', 'ws:', 'wss:'],
    description: 'NATS server URL(s), comma-separated',
  }),
  databaseUrl: field.url('LXR_DATABASE_URL', {
    optional: true,
    secret: true,
    protocols: ['postgres:', 'postgresql:'],
    description: 'the PostgreSQL URL of the event log',
  }),
  node: field.string('LXR_NODE_NAME', {
    default: defaultNodeName(),
    pattern: NODE_NAME_PATTERN,
    patternHint: 'a node name (letters, digits, "-" and "_", dot-separated like a hostname)',
  }),
  logLevel: field.oneOf('LXR_LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
  healthPort: field.port('LXR_HEALTH_PORT', { default: 0, description: '0 turns the health server off' }),
  healthHost: field.string('LXR_HEALTH_HOST', { default: '127.0.0.1' }),
};

/** The configuration every service gets. */
export type CommonConfig = ConfigOf<typeof commonConfigSpec>;
