import { type NodeInfo, parseEventStream } from '@lxr/client';
import { createInMemoryEventStore, type InMemoryEventStore } from '@lxr/event-store';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type GatewayDeps } from '../app.js';
import { staticNodeDirectory } from '../nodes/node-directory.js';
import type { ContainersReadModel } from '../read-model/containers.read-model.js';
import { createInMemoryContainersReadModel } from '../read-model/in-memory-containers.read-model.js';

export const TEST_TOKEN = 'f'.repeat(64);

export const liveNode = (name: string): NodeInfo => ({
  name,
  alive: true,
  lastSeen: new Date().toISOString(),
  services: [{ name: 'executor', alive: true, lastSeen: new Date().toISOString() }],
});

export interface TestApp {
  readonly app: FastifyInstance;
  readonly store: InMemoryEventStore;
  readonly readModel: ContainersReadModel;
  /** `inject` with the bearer token. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** `POST /v1/containers` with this JSON body, with the bearer token. */
  create(body: object, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Every event in the log. */
  log(): Promise<readonly { type: string }[]>;
}

/**
 * The gateway over an in-memory store (or the one given), one live node `node-1`; the store's
 * appends wake the event streams, as LISTEN/NOTIFY does in production.
 */
export async function createTestApp(
  overrides: Omit<Partial<GatewayDeps>, 'store'> & { readonly store?: InMemoryEventStore } = {},
): Promise<TestApp> {
  const store = overrides.store ?? createInMemoryEventStore();
  const readModel = overrides.readModel ?? createInMemoryContainersReadModel(store);
  const app = await buildApp({
    store,
    readModel,
    nodes: staticNodeDirectory([liveNode('node-1')]),
    token: TEST_TOKEN,
    appends: { subscribe: (listener) => store.onAppend(listener) },
    sse: { heartbeatMs: 50, pollMs: 50 },
    ...overrides,
  });
  const request: TestApp['request'] = (options) =>
    app.inject({ ...options, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...options.headers } });
  return {
    app,
    store,
    readModel,
    request,
    create: (body, headers = {}) =>
      request({ method: 'POST', url: '/v1/containers', payload: body, headers }),
    log: () => store.readAll(),
  };
}

/** The events of an SSE body, parsed as the client parses them (comments and bare `id:` blocks dropped). */
export async function parseSse(body: string): Promise<{ id?: string; event?: string; data: string }[]> {
  const events: { id?: string; event?: string; data: string }[] = [];
  for await (const { id, event, data } of parseEventStream([body])) {
    if (data !== undefined) events.push({ ...(id === undefined ? {} : { id }), event, data });
  }
  return events;
}
