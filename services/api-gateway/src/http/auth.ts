import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';

/** The browser session's cookie: `v1.<expiry, unix seconds>.<HMAC-SHA256 keyed by the API token>`. */
export const SESSION_COOKIE = 'lxr_session';
/** Where a browser lands after logging in when it asked for no page in particular. */
export const DEFAULT_LANDING = '/console/';
const DEFAULT_SESSION_SECONDS = 7 * 24 * 3600;

type OnRequest = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** How the gateway authenticates: one instance per token, shared by every route. */
export interface GatewayAuth {
  /**
   * `onRequest` hook for the API (and anything a program calls): the token as
   * `Authorization: Bearer <token>`, as `?access_token=` on GET (RFC 6750 §2.3, for EventSource),
   * or the session cookie; otherwise 401 problem+json. A cookie-authenticated request that changes
   * state, or opens a WebSocket, must come from the gateway's own origin (403 otherwise): see
   * {@link isSameOrigin}.
   */
  readonly api: OnRequest;
  /**
   * `onRequest` hook for pages a person opens (the console, `/ide/{name}/`): as {@link api}, but a
   * browser navigating there without a session is sent to `302 /login?next=<path>` instead, and one
   * arriving with `?access_token=` gets the session cookie and is redirected to the same URL
   * without the token, so it stays out of history and `Referer`s.
   */
  readonly page: OnRequest;
  /** Whether `value` is the API token (constant time). */
  tokenMatches(value: string): boolean;
  /** Whether the request carries a valid, unexpired session cookie. */
  hasSession(request: FastifyRequest): boolean;
  /** Sets a fresh session cookie on the reply. */
  signIn(request: FastifyRequest, reply: FastifyReply): void;
  /** Expires the session cookie. */
  signOut(request: FastifyRequest, reply: FastifyReply): void;
}

export interface GatewayAuthOptions {
  /** Session lifetime; default 7 days. Rotating the token ends every session sooner. */
  readonly sessionSeconds?: number;
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * The gateway's authentication over one API token.
 *
 * The session cookie never holds the token: it is an expiry and an HMAC of it keyed by the token,
 * so a leaked cookie is worthless after its expiry or once the token is rotated, and says nothing
 * about the token. It is `HttpOnly` (page scripts cannot read it), `SameSite=Strict` and `Path=/`.
 * Strict rather than Lax because the cookie opens a root shell in every container: with Strict no
 * request started by another site carries it, not even a top-level link (which then lands on the
 * login page once). "Site" still spans every port of the host, so cookie-authenticated requests
 * that change state or open a WebSocket are also checked to come from this origin.
 */
export function createGatewayAuth(token: string, options: GatewayAuthOptions = {}): GatewayAuth {
  // Tokens are compared as SHA-256 digests, in constant time: their lengths, which `timingSafeEqual`
  // would otherwise refuse to compare, leak nothing either. The expected one is hashed once.
  const expected = digest(token);
  const now = options.now ?? Date.now;
  const ttl = options.sessionSeconds ?? DEFAULT_SESSION_SECONDS;
  const mac = (expiry: number) =>
    createHmac('sha256', token).update(`lxr-session:v1:${expiry}`).digest('base64url');
  const tokenMatches = (value: string) => timingSafeEqual(digest(value), expected);

  const validSession = (value: string): boolean => {
    const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return false;
    const expiry = Number(match[1]);
    if (expiry * 1000 <= now()) return false;
    return timingSafeEqual(Buffer.from(match[2]!), Buffer.from(mac(expiry)));
  };

  const signIn = (request: FastifyRequest, reply: FastifyReply) => {
    const expiry = Math.floor(now() / 1000) + ttl;
    reply.header('set-cookie', sessionCookie(request, `v1.${expiry}.${mac(expiry)}`, ttl));
  };
  const signOut = (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('set-cookie', sessionCookie(request, '', 0));
  };

  /** Who the request is, or why it is nobody. Throws 403 for a cross-site use of the cookie. */
  const authenticate = (request: FastifyRequest): Credential => {
    const credential = presentedCredential(request);
    if (credential.kind === 'cookie') {
      if (!validSession(credential.value)) return { kind: 'none', why: 'session' };
      if (needsSameOrigin(request) && !isSameOrigin(request)) {
        throw new GatewayError(
          ErrorCode.CrossSiteRequest,
          `${request.method} ${request.url.split('?')[0]} with the session cookie must come from a page of this gateway (Origin ${request.headers.origin ?? 'missing'}); programs send the token as \`Authorization: Bearer\` instead`,
        );
      }
      return credential;
    }
    if (credential.kind === 'none') return credential;
    if (!tokenMatches(credential.value)) return { kind: 'none', why: 'invalid' };
    if (credential.kind === 'query') delete (request.query as Record<string, unknown>)['access_token'];
    return credential;
  };

  const api: OnRequest = async (request, reply) => {
    const credential = authenticate(request);
    if (credential.kind === 'none') throw unauthorized(credential.why);
    // `/docs?access_token=…` opened in a browser must go on to load the spec and assets without it.
    if (credential.kind === 'query' && isDocsPath(request.url)) signIn(request, reply);
  };

  const page: OnRequest = async (request, reply) => {
    const credential = authenticate(request);
    if (credential.kind === 'query') {
      signIn(request, reply);
      return reply.redirect(withoutAccessToken(request.url), 302);
    }
    if (credential.kind !== 'none') return;
    if (isNavigation(request)) {
      return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 302);
    }
    throw unauthorized(credential.why);
  };

  return {
    api,
    page,
    tokenMatches,
    hasSession: (request) => {
      const credential = presentedCredential(request);
      return credential.kind === 'cookie' && validSession(credential.value);
    },
    signIn,
    signOut,
  };
}

type Credential =
  | { readonly kind: 'header' | 'query' | 'cookie'; readonly value: string }
  | { readonly kind: 'none'; readonly why: 'missing' | 'invalid' | 'session' };

function presentedCredential(request: FastifyRequest): Credential {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    return match ? { kind: 'header', value: match[1]! } : { kind: 'none', why: 'missing' };
  }
  if (request.method === 'GET' || request.method === 'HEAD') {
    const query = new URL(request.url, 'http://x').searchParams.get('access_token');
    if (query !== null) return { kind: 'query', value: query };
  }
  const cookie = readCookie(request, SESSION_COOKIE);
  return cookie === undefined ? { kind: 'none', why: 'missing' } : { kind: 'cookie', value: cookie };
}

function unauthorized(why: 'missing' | 'invalid' | 'session'): GatewayError {
  if (why === 'invalid') {
    return new GatewayError(
      ErrorCode.Unauthorized,
      'invalid bearer token: use the token from $LXR_HOME/api-token (or LXR_TOKEN)',
      { headers: { 'www-authenticate': 'Bearer realm="lxr", error="invalid_token"' } },
    );
  }
  return new GatewayError(
    ErrorCode.Unauthorized,
    why === 'session'
      ? 'the session cookie has expired or the API token was rotated: log in again at /login'
      : 'missing bearer token: send `Authorization: Bearer <token>` with the token from $LXR_HOME/api-token',
    { headers: { 'www-authenticate': 'Bearer realm="lxr"' } },
  );
}

/** Requests a cookie may only authenticate from the gateway's own pages: writes and WebSockets. */
function needsSameOrigin(request: FastifyRequest): boolean {
  const safe = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
  return !safe || request.headers.upgrade?.toLowerCase() === 'websocket';
}

/**
 * Whether a browser says the request comes from a page of this origin: `Sec-Fetch-Site` (when sent)
 * is `same-origin` or `none` (typed by the user), and `Origin` (when sent) names this host. A
 * request carrying neither is refused: every browser since 2020 sends `Origin` on a POST and on a
 * WebSocket handshake.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return site !== undefined;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false; // `Origin: null` (sandboxed frames, file: pages) and garbage
  }
}

/** A browser asking for a page: a redirect to the login form helps it; a program wants the 401. */
function isNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (request.headers.upgrade !== undefined) return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * `next` as a path on this gateway, or the console: only `/`-rooted relative references pass, so
 * `//evil`, `/\evil`, `https://evil` and the like cannot turn the login into an open redirect.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.length > 2048) return DEFAULT_LANDING;
  // Browsers read `\` as `/` and drop tabs and newlines from URLs: `/\evil.com` is `//evil.com`.
  if (next.startsWith('//') || [...next].some((c) => c === '\\' || c <= ' ' || c === '\x7f')) {
    return DEFAULT_LANDING;
  }
  const base = 'http://gateway.invalid';
  const url = new URL(next, base);
  if (url.origin !== base || url.pathname === '/login') return DEFAULT_LANDING;
  return `${url.pathname}${url.search}${url.hash}`;
}

function sessionCookie(request: FastifyRequest, value: string, maxAge: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
}

function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function withoutAccessToken(url: string): string {
  const parsed = new URL(url, 'http://gateway.invalid');
  parsed.searchParams.delete('access_token');
  return `${parsed.pathname}${parsed.search}`;
}

function isDocsPath(url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
}
