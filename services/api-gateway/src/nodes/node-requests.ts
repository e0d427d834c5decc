import type { NodeInfo } from '@lxr/client';
import { Type } from '@sinclair/typebox';
import { ErrorCode as Codes, type ErrorCode, GatewayError } from '../errors.js';
import { listNodesOrExplain, type NodeDirectory } from './node-directory.js';

// What every route that asks the node agents over request/reply needs: which nodes to ask, and
// turning a node's error reply into the gateway's problem.

/** The part of the bus the node clients use (`EventBus.request`). */
export interface Requester {
  request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T>;
}

/** A request's node name field. */
export const nodeField = (description: string) => Type.String({ minLength: 1, maxLength: 253, description });
/** `?node=`: the one node to ask, every alive node ({@link aliveNodeNames}) when absent. */
export const NodeQuery = Type.Object({
  node: Type.Optional(nodeField('one node; every alive node when absent')),
});

/** The node asked for, or every alive node (by name), each checked to be known and alive. */
export function aliveNodes(all: readonly NodeInfo[], wanted: string | undefined): NodeInfo[] {
  if (wanted) {
    const node = all.find((n) => n.name === wanted);
    if (!node)
      throw new GatewayError(Codes.UnknownNode, `node "${wanted}" is unknown (lxr nodes lists them)`);
    if (!node.alive) throw new GatewayError(Codes.NodeNotAlive, `node "${wanted}" is not alive`);
    return [node];
  }
  const found = all.filter((n) => n.alive).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (found.length === 0)
    throw new GatewayError(Codes.NoNodeAvailable, 'no node agent is alive: start lxr (`lxr up`)');
  return found;
}

/** The names of {@link aliveNodes}, read from the directory. */
export async function aliveNodeNames(
  directory: NodeDirectory,
  wanted: string | undefined,
): Promise<string[]> {
  return aliveNodes(await listNodesOrExplain(directory), wanted).map((n) => n.name);
}

/**
 * The node to act on: the one asked for, else the first alive one where `service` heartbeats;
 * `unavailable` (a 503 naming the service) when there is none.
 */
export async function nodeRunning(
  directory: NodeDirectory,
  wanted: string | undefined,
  service: string,
  unavailable: ErrorCode,
): Promise<string> {
  const ready = aliveNodes(await listNodesOrExplain(directory), wanted).find((node) =>
    node.services.some((s) => s.name === service && s.alive),
  );
  if (!ready) {
    throw new GatewayError(
      unavailable,
      `no ${service} heartbeats on ${wanted ? `node ${wanted}` : 'any alive node'}: check \`lxr status\``,
    );
  }
  return ready.name;
}

/**
 * Runs a request to a node's service and turns its failure into problem+json: the service's own
 * error code (the bus's `RemoteError.remoteCode`) through `codes`, anything else — no answer, a
 * timeout, an unexpected code — as `unavailable`, naming the service and node.
 */
export async function askNode<T>(
  target: { readonly node: string; readonly service: string },
  codes: Readonly<Record<string, ErrorCode>>,
  unavailable: ErrorCode,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const remote = (error as { remoteCode?: unknown }).remoteCode;
    const message = (error as Error).message;
    const code = typeof remote === 'string' ? codes[remote] : undefined;
    if (code) throw new GatewayError(code, message, {}, { cause: error });
    throw new GatewayError(
      unavailable,
      `the ${target.service} of node ${target.node} did not answer: ${message}`,
      {},
      { cause: error },
    );
  }
}
