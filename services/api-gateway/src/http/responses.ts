import { errorCodes } from '../errors.js';
import { Problem } from './schemas.js';

/**
 * OpenAPI response entries for problem statuses. The bodies are sent pre-serialised by
 * `sendProblem`, so these only document them.
 */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const status of statuses) {
    const titles = Object.values(errorCodes)
      .filter((c) => c.status === status)
      .map((c) => c.title);
    out[status] = {
      description: titles.join('; ') || 'Problem',
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return out;
}

/** Every route under /v1 may answer these. */
export const commonProblems = [400, 401, 500] as const;
