import { createInMemoryEventStore, type EventStore } from '@lxr/event-store';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type GatewayDeps } from '../app.js';
import { createLogSignal } from '../events/log-signal.js';
import { type NodeInfo, staticNodeDirectory } from '../nodes/node-directory.js';
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
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
  /** `inject` with the bearer token. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Every event in the log. */
  log(): Promise<readonly { type: string }[]>;
}

/** The gateway over an in-memory store (or the one given), one live node `node-1`. */
export async function createTestApp(overrides: Partial<GatewayDeps> = {}): Promise<TestApp> {
  const store = overrides.store ?? createInMemoryEventStore();
  const readModel = overrides.readModel ?? createInMemoryContainersReadModel(store);
  const app = await buildApp({
    store,
    readModel,
    nodes: staticNodeDirectory([liveNode('node-1')]),
    token: TEST_TOKEN,
    signal: createLogSignal(),
    sse: { heartbeatMs: 50, pollMs: 50 },
    ...overrides,
  });
  return {
    app,
    store,
    readModel,
    request: (options) =>
      app.inject({ ...options, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...options.headers } }),
    log: () => store.readAll(),
  };
}

/** Parses an SSE body into its events (comments and bare `id:` lines dropped). */
export function parseSse(body: string): { id?: string; event?: string; data: string }[] {
  return body
    .split('\n\n')
    .map((block) => {
      const out: { id?: string; event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) out.id = line.slice(4);
        else if (line.startsWith('event: ')) out.event = line.slice(7);
        else if (line.startsWith('data: ')) out.data += line.slice(6);
      }
      return out;
    })
    .filter((e) => e.event !== undefined);
}
