import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '@lxr/event-store';
import { type Static, Type } from '@sinclair/typebox';
import { commonProblems, problemResponses } from '../http/responses.js';
import { readNetworkInspect } from './network-view.js';

const PublishedPort = Type.Object({
  hostIp: Type.Optional(Type.String()),
  hostPort: Type.Integer(),
  containerPort: Type.Integer(),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
});

export const NetworkInspectSchema = Type.Object({
  pool: Type.Union([Type.String({ description: 'CIDR' }), Type.Null()]),
  nodes: Type.Array(
    Type.Object({
      node: Type.String(),
      subnet: Type.String({ description: 'CIDR' }),
      gateway: Type.String(),
      allocations: Type.Array(
        Type.Object({
          containerId: Type.String(),
          name: Type.String(),
          ip: Type.String(),
          ports: Type.Array(PublishedPort),
        }),
      ),
    }),
  ),
});

export const networkRoutes: FastifyPluginAsyncTypebox<{ readonly store: EventStore }> = async (
  app,
  { store },
) => {
  app.get(
    '/networks',
    {
      schema: {
        operationId: 'inspectNetworks',
        summary: "The address pool, each node's subnet and the addresses given out in it",
        tags: ['networks'],
        response: { 200: NetworkInspectSchema, ...problemResponses(...commonProblems) },
      },
    },
    async () => (await readNetworkInspect(store)) as Static<typeof NetworkInspectSchema>,
  );
};
