import { type ExecutorVerb, executorSubject } from '@lxr/events';
import type { NatsConnection } from 'nats';
import { ErrorCode, GatewayError } from '../errors.js';

/**
 * How the gateway reaches the executor on a container's node: request/reply for the start of a
 * session (or a one-shot answer such as stats), then the session's frames on plain subjects.
 */
export interface ExecutorLink {
  request<T>(node: string, verb: ExecutorVerb, payload: unknown): Promise<T>;
  /** Calls `onMessage` with each message on `subject`; returns the unsubscribe. */
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): () => void;
  publish(subject: string, data: Uint8Array): void;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The link over the gateway's NATS connection. */
export function natsExecutorLink(
  nats: NatsConnection,
  bus: { request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T> },
): ExecutorLink {
  return {
    async request<T>(node: string, verb: ExecutorVerb, payload: unknown) {
      try {
        return await bus.request<T>(executorSubject(node, verb), payload, REQUEST_TIMEOUT_MS);
      } catch (error) {
        throw translate(error, node);
      }
    },
    subscribe(subject, onMessage) {
      const sub = nats.subscribe(subject, { callback: (_error, msg) => onMessage(msg.data) });
      return () => sub.unsubscribe();
    },
    publish: (subject, data) => nats.publish(subject, data),
  };
}

/** The executor's failures (the bus's `RemoteError` and `BusError` codes) as the API's problems. */
function translate(error: unknown, node: string): unknown {
  const { code, remoteCode, message } = error as { code?: string; remoteCode?: string; message?: string };
  if (remoteCode !== undefined) {
    if (remoteCode === 'EXECUTOR_NOT_RUNNING') {
      return new GatewayError(ErrorCode.ContainerNotRunning, `${message}; start it with \`lxr start\``);
    }
    if (remoteCode === 'EXECUTOR_BAD_REQUEST' || remoteCode === 'EXECUTOR_USER_UNKNOWN') {
      return new GatewayError(ErrorCode.InvalidRequest, message ?? remoteCode);
    }
    return error;
  }
  if (code === 'BUS_NO_RESPONDERS' || code === 'BUS_REQUEST_TIMEOUT') {
    return new GatewayError(
      ErrorCode.NodeUnreachable,
      `the executor on node ${node} does not answer (${message}); check it with \`lxr nodes\``,
    );
  }
  return error;
}
