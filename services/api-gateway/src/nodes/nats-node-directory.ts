import { listNodes } from '@lxr/service-kit';
import type { NatsConnection } from 'nats';
import type { NodeDirectory } from './node-directory.js';

/**
 * The node directory over service-kit's registry: heartbeats in the NATS KV bucket `lxr_nodes`.
 * A node is alive while its executor's heartbeat is fresh (service-kit's rule).
 */
export function natsNodeDirectory(nc: NatsConnection): NodeDirectory {
  return {
    async list() {
      const nodes = await listNodes(nc);
      return nodes.map((n) => ({
        name: n.node,
        alive: n.alive,
        lastSeen: n.agentLastSeenAt,
        services: n.services.map((s) => ({ name: s.service, alive: s.fresh, lastSeen: s.lastSeenAt })),
      }));
    },
  };
}
