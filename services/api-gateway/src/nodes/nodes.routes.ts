import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { commonProblems, problemResponses } from '../http/responses.js';
import { Node } from '../http/schemas.js';
import type { NodeDirectory } from './node-directory.js';

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
        response: { 200: Type.Array(Node), ...problemResponses(...commonProblems) },
      },
    },
    async () => [...(await nodes.list())].sort((a, b) => a.name.localeCompare(b.name)),
  );
};
