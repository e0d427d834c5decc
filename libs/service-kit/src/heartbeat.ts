import { messageOf } from '@lxr/bus';
import { type JetStreamClient, type KV, type NatsConnection, StorageType } from 'nats';
import { ServiceError, ServiceKitErrorCode } from './errors.js';

/** The NATS KV bucket where every lxr process heartbeats. */
export const NODES_BUCKET = 'lxr_nodes';
/**
 * How long a heartbeat lives: the bucket's TTL (entries expire this long after their last
 * write) and the freshness limit of {@link listNodes}.
 */
export const HEARTBEAT_TTL_MS = 15_000;
/** How often a heartbeat is rewritten: a third of the TTL, so two can be lost without going stale. */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/** The JSON value of a heartbeat, under the key `<node>.<service>`. */
export interface HeartbeatValue {
  readonly node: string;
  readonly service: string;
  readonly version: string;
  readonly pid: number;
  /** When the process started, ISO 8601 UTC. */
  readonly startedAt: string;
  /** When this heartbeat was written (by the writer's clock), ISO 8601 UTC. */
  readonly heartbeatAt: string;
  /** True for per-node services (node agents: executor, image-puller…), false for cluster ones. */
  readonly perNode: boolean;
}

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
  readonly node: string;
  readonly service: string;
  readonly version: string;
  readonly perNode: boolean;
  /** Default {@link HEARTBEAT_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** TTL of the bucket when this call creates it; default {@link HEARTBEAT_TTL_MS}. */
  readonly ttlMs?: number;
  /** Default {@link NODES_BUCKET}. */
  readonly bucket?: string;
  /** Told about failed writes; a heartbeat never throws after it started. */
  readonly logger?: {
    warn(fields: object, message: string): void;
    info(fields: object, message: string): void;
  };
}

/** A running heartbeat. */
export interface Heartbeat {
  /** The KV key, `<node>.<service>`. */
  readonly key: string;
  /** Stops beating and deletes the key, so readers see the service gone at once. */
  stop(): Promise<void>;
}

/** The KV key of a service's heartbeat. */
export function heartbeatKey(node: string, service: string): string {
  return `${node}.${service}`;
}

/**
 * Opens (creating if needed) the heartbeat bucket: history 1, file storage, entries expiring
 * `ttlMs` after their last write.
 */
function openNodesBucket(
  js: JetStreamClient,
  options: { bucket?: string; ttlMs?: number } = {},
): Promise<KV> {
  return js.views.kv(options.bucket ?? NODES_BUCKET, {
    history: 1,
    ttl: options.ttlMs ?? HEARTBEAT_TTL_MS,
    storage: StorageType.File,
    description: 'lxr heartbeats: <node>.<service> → what runs where, refreshed every few seconds',
  });
}

/**
 * Starts heartbeating `<node>.<service>` into the `lxr_nodes` KV bucket every `intervalMs`.
 * The first write happens before this resolves (a failure there is `HEARTBEAT_FAILED`); later
 * failures are logged and retried on the next beat. If the process dies, the entry expires
 * after the bucket's TTL.
 *
 * @example
 * const heartbeat = await startHeartbeat(nc, { node: 'node-1', service: 'executor', version: '0.1.0', perNode: true });
 * // on graceful shutdown:
 * await heartbeat.stop();
 */
export async function startHeartbeat(nc: NatsConnection, options: HeartbeatOptions): Promise<Heartbeat> {
  const key = heartbeatKey(options.node, options.service);
  const intervalMs = options.intervalMs ?? HEARTBEAT_INTERVAL_MS;
  const startedAt = new Date().toISOString();
  let kv: KV;
  try {
    kv = await openNodesBucket(nc.jetstream(), options);
  } catch (error) {
    throw new ServiceError(
      ServiceKitErrorCode.HeartbeatFailed,
      `could not open the KV bucket ${options.bucket ?? NODES_BUCKET}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const encoder = new TextEncoder();
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const write = async () => {
    const value: HeartbeatValue = {
      node: options.node,
      service: options.service,
      version: options.version,
      pid: process.pid,
      startedAt,
      heartbeatAt: new Date().toISOString(),
      perNode: options.perNode,
    };
    await kv.put(key, encoder.encode(JSON.stringify(value)));
  };
  const tick = () => {
    inFlight = write()
      .then(
        () => {
          if (failing) options.logger?.info({ key }, 'heartbeat written again');
          failing = false;
        },
        (error) => {
          if (!failing) options.logger?.warn({ err: error, key }, 'heartbeat failed; will retry');
          failing = true;
        },
      )
      .finally(schedule);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };

  try {
    await write();
  } catch (error) {
    throw new ServiceError(
      ServiceKitErrorCode.HeartbeatFailed,
      `could not write the heartbeat ${key}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  schedule();

  return {
    key,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      try {
        await kv.delete(key);
      } catch (error) {
        options.logger?.warn({ err: error, key }, 'could not delete the heartbeat; it will expire');
      }
    },
  };
}
