import { type JetStreamClient, type KV, type NatsConnection, NatsError } from 'nats';
import { HEARTBEAT_TTL_MS, type HeartbeatValue, NODES_BUCKET } from './heartbeat.js';

/** The service whose heartbeat decides whether a node is alive. */
export const NODE_AGENT_SERVICE = 'executor';

/** One service's heartbeat as a reader sees it. */
export interface ServiceHeartbeat extends HeartbeatValue {
  /** When the server stored the last heartbeat, ISO 8601 UTC (not the writer's clock). */
  readonly lastSeenAt: string;
  /** How old the last heartbeat is, by the reader's clock, in ms. */
  readonly ageMs: number;
  /** `ageMs` is within the freshness limit. */
  readonly fresh: boolean;
}

/** A node and what heartbeats on it. */
export interface NodeStatus {
  readonly node: string;
  /** See {@link listNodes} for the rule. */
  readonly alive: boolean;
  /** The most recent heartbeat of any of its services, ISO 8601 UTC. */
  readonly lastHeartbeatAt: string;
  /** The node agent's (executor's) last heartbeat, ISO 8601 UTC; null when it has none. */
  readonly agentLastSeenAt: string | null;
  /** Its services, by name. */
  readonly services: readonly ServiceHeartbeat[];
}

/** Options of {@link listNodes}. */
export interface ListNodesOptions {
  /** Default {@link NODES_BUCKET}. */
  readonly bucket?: string;
  /** A heartbeat older than this is stale; default {@link HEARTBEAT_TTL_MS}. */
  readonly staleAfterMs?: number;
  /** Default {@link NODE_AGENT_SERVICE}. */
  readonly agentService?: string;
  /** The reader's clock; for tests. */
  readonly now?: () => number;
}

const isHeartbeat = (v: unknown): v is HeartbeatValue => {
  const h = v as Partial<HeartbeatValue> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.node === 'string' &&
    typeof h.service === 'string' &&
    typeof h.version === 'string' &&
    typeof h.pid === 'number' &&
    typeof h.startedAt === 'string' &&
    typeof h.heartbeatAt === 'string' &&
    typeof h.perNode === 'boolean'
  );
};

const isConnection = (source: NatsConnection | JetStreamClient): source is NatsConnection =>
  typeof (source as NatsConnection).jetstream === 'function';

/**
 * The bucket and its keys, or undefined when the bucket does not exist. Keys come from the
 * stream's subject list, one request and no consumer: a consumer-based listing (`kv.keys()`,
 * `kv.history()`) counts pending messages up front and can wait forever when a heartbeat
 * expires (TTL) while it reads, which here happens all the time.
 */
async function bind(js: JetStreamClient, bucket: string): Promise<{ kv: KV; keys: string[] } | undefined> {
  const prefix = `$KV.${bucket}.`;
  let subjects: Record<string, number>;
  try {
    // Reading must not create the bucket (with whatever TTL): only heartbeat writers do.
    const info = await (await js.jetstreamManager()).streams.info(`KV_${bucket}`, {
      subjects_filter: `${prefix}>`,
    });
    subjects = info.state.subjects ?? {};
  } catch (error) {
    if (error instanceof NatsError && error.api_error?.err_code === 10059) return undefined;
    throw error;
  }
  const keys = Object.keys(subjects).map((subject) => subject.slice(prefix.length));
  return { kv: await js.views.kv(bucket, { bindOnly: true }), keys };
}

/**
 * The nodes that heartbeat in `lxr_nodes`, each with its services, sorted by node name.
 *
 * **Liveness rule.** A service's heartbeat is *fresh* when the server stored it at most
 * `staleAfterMs` (default 15 s, the bucket TTL) ago. A node is **alive** when its node agent's
 * (`executor`'s) heartbeat is fresh. Heartbeats are written every 5 s, so a live agent is never
 * older than about 5 s; a dead one is stale after 15 s and gone from the bucket soon after. A
 * gracefully stopped service deletes its heartbeat and disappears at once. Freshness uses the
 * server's timestamps against the reader's clock, so the reader's and the NATS server's clocks
 * must agree to within a few seconds (NTP).
 *
 * @example
 * const nodes = await listNodes(nc);
 * const target = nodes.find((n) => n.alive && n.node === requested) ?? nodes.find((n) => n.alive);
 */
export async function listNodes(
  source: NatsConnection | JetStreamClient,
  options: ListNodesOptions = {},
): Promise<NodeStatus[]> {
  const js = isConnection(source) ? source.jetstream() : source;
  const bucket = await bind(js, options.bucket ?? NODES_BUCKET);
  if (!bucket) return [];
  const { kv, keys } = bucket;
  const now = options.now?.() ?? Date.now();
  const staleAfterMs = options.staleAfterMs ?? HEARTBEAT_TTL_MS;
  const agent = options.agentService ?? NODE_AGENT_SERVICE;

  const byNode = new Map<string, ServiceHeartbeat[]>();
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT') continue;
    let value: unknown;
    try {
      value = entry.json();
    } catch {
      continue;
    }
    if (!isHeartbeat(value)) continue;
    const ageMs = Math.max(0, now - entry.created.getTime());
    const service: ServiceHeartbeat = {
      ...value,
      lastSeenAt: entry.created.toISOString(),
      ageMs,
      fresh: ageMs <= staleAfterMs,
    };
    byNode.set(value.node, [...(byNode.get(value.node) ?? []), service]);
  }
  return [...byNode]
    .map(([node, services]) => ({
      node,
      alive: services.some((s) => s.service === agent && s.fresh),
      agentLastSeenAt: services.find((s) => s.service === agent)?.lastSeenAt ?? null,
      lastHeartbeatAt: services
        .map((s) => s.lastSeenAt)
        .sort()
        .at(-1)!,
      services: services.sort((a, b) => a.service.localeCompare(b.service)),
    }))
    .sort((a, b) => a.node.localeCompare(b.node));
}
