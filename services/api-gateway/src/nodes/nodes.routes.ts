import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { commonProblems, problemResponses } from '../http/responses.js';
import { Node } from '../http/schemas.js';
import { listNodesOrExplain, type NodeDirectory } from './node-directory.js';

export const nodeRoutes: FastifyPluginAsyncTypebox<{ readonly nodes: NodeDirectory }> = async (
  app,
  { nodes },
) => {
  app.get(
    '/nodes',
    {
      schema: {
        operationId: 'listNodes',
        summary: 'Node agents and whether they are alive',
        tags: ['nodes'],
        response: { 200: Type.Array(Node), ...problemResponses(...commonProblems, 503) },
      },
    },
    async () => [...(await listNodesOrExplain(nodes))].sort((a, b) => a.name.localeCompare(b.name)),
  );
};
