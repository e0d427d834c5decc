import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health } from './schemas.js';

/** A dependency the gateway cannot serve without; resolves when reachable, throws otherwise. */
export type ReadinessCheck = () => Promise<void>;

/**
 * `/healthz`: the process answers. `/readyz`: every dependency answers (PostgreSQL, NATS), else 503
 * naming the ones that do not. Neither needs the token, so supervisors and probes can call them.
 */
export const healthRoutes: FastifyPluginAsyncTypebox<{
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly timeoutMs?: number;
}> = async (app, { readiness, timeoutMs = 2_000 }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'health',
        summary: 'Liveness',
        tags: ['health'],
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'ready',
        summary: 'Readiness: PostgreSQL and NATS reachable',
        tags: ['health'],
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const entries = await Promise.all(
        Object.entries(readiness).map(async ([name, check]) => {
          try {
            await withTimeout(check(), timeoutMs, `${name} did not answer within ${timeoutMs} ms`);
            return [name, { ok: true }] as const;
          } catch (error) {
            return [
              name,
              { ok: false, error: error instanceof Error ? error.message : String(error) },
            ] as const;
          }
        }),
      );
      const ready = entries.every(([, c]) => c.ok);
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(entries) });
    },
  );
};

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
