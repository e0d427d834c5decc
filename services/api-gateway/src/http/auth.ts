import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';

const DOCS_COOKIE = 'lxr_docs_token';

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * An `onRequest` hook accepting the token as `Authorization: Bearer <token>`; for GET also as
 * `?access_token=` (RFC 6750 §2.3), since a browser's EventSource cannot send headers. Opening
 * `/docs?access_token=…` sets an HttpOnly cookie scoped to `/docs` so the page can load its spec.
 */
export function bearerAuth(token: string) {
  // Tokens are compared as SHA-256 digests, in constant time: their lengths, which `timingSafeEqual`
  // would otherwise refuse to compare, leak nothing either. The expected one is hashed once.
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const { value, source } = presentedToken(request);
    if (value === undefined) {
      throw new GatewayError(
        ErrorCode.Unauthorized,
        'missing bearer token: send `Authorization: Bearer <token>` with the token from $LXR_HOME/api-token',
        { headers: { 'www-authenticate': 'Bearer realm="lxr"' } },
      );
    }
    if (!timingSafeEqual(digest(value), expected)) {
      throw new GatewayError(
        ErrorCode.Unauthorized,
        'invalid bearer token: use the token from $LXR_HOME/api-token (or LXR_TOKEN)',
        { headers: { 'www-authenticate': 'Bearer realm="lxr", error="invalid_token"' } },
      );
    }
    // Documented as the `accessToken` security scheme; no route's query schema should see it.
    if (source === 'query') delete (request.query as Record<string, unknown>)['access_token'];
    if (source === 'query' && isDocsPath(request.url)) {
      reply.header(
        'set-cookie',
        `${DOCS_COOKIE}=${encodeURIComponent(value)}; Path=/docs; HttpOnly; SameSite=Strict`,
      );
    }
  };
}

function presentedToken(request: FastifyRequest): { value?: string; source?: 'header' | 'query' | 'cookie' } {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    return match ? { value: match[1]!, source: 'header' } : {};
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') return {};
  const query = new URL(request.url, 'http://x').searchParams.get('access_token');
  if (query !== null) return { value: query, source: 'query' };
  if (isDocsPath(request.url)) {
    const cookie = (request.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${DOCS_COOKIE}=`));
    if (cookie) return { value: decodeURIComponent(cookie.slice(DOCS_COOKIE.length + 1)), source: 'cookie' };
  }
  return {};
}

function isDocsPath(url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
}
