import type { NodeInfo } from '@lxr/client';
import { ErrorCode, GatewayError } from '../errors.js';

/**
 * Where the gateway learns which node agents are running. `main.ts` adapts service-kit's node
 * registry (heartbeats in the NATS KV bucket `lxr_nodes`) to it; tests give a fixed list.
 */
export interface NodeDirectory {
  list(): Promise<readonly NodeInfo[]>;
}

/**
 * Lists the nodes, turning a failure (NATS unreachable) into a 503 problem that says so.
 */
export async function listNodesOrExplain(directory: NodeDirectory): Promise<readonly NodeInfo[]> {
  try {
    return await directory.list();
  } catch (error) {
    throw new GatewayError(
      ErrorCode.NotReady,
      `cannot read the node agents' heartbeats (NATS KV lxr_nodes): ${(error as Error).message}; check that NATS is up (\`lxr status\`)`,
      {},
      { cause: error },
    );
  }
}

/** A directory that always answers the same nodes, e.g. for tests and single-node setups. */
export function staticNodeDirectory(nodes: readonly NodeInfo[]): NodeDirectory {
  return { list: async () => nodes };
}
