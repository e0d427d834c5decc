import http from 'node:http';
import type { Socket } from 'node:net';
import { connectContainedSocket } from '@lxr/service-kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { SESSION_COOKIE } from '../http/auth.js';
import type { IdeTargets } from './ide-target.js';

export interface IdeProxyOptions {
  readonly targets: IdeTargets;
  /** The gateway's `page` hook: token, `?access_token=` or session cookie; browsers go to /login. */
  readonly auth: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) stay on their hop; lxr's own credentials never reach the
// container (code-server and its extensions run as the container's user).
const DROPPED_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
]);
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * `/ide/{name}/…`: the container's code-server, reverse-proxied over its unix socket in the
 * container's root filesystem (no port is published anywhere), HTTP and WebSocket, streamed both
 * ways. The gateway's auth guards every request; code-server runs with `--auth none`.
 *
 * code-server checks that a WebSocket's `Origin` names the host the request was sent to: the
 * browser's `Host` is passed on unchanged and `X-Forwarded-Host` says the same, so the check sees
 * the gateway's origin on both sides. The `/ide/{name}` prefix is stripped; code-server's pages use
 * relative URLs (and `--abs-proxy-base-path` for the few absolute ones), so they work under it.
 *
 * WebSocket upgrades reach this route through the gateway's `upgrade` listener, which
 * @fastify/websocket installs (for exec) and which routes every upgrade through fastify: outside
 * that plugin's scope the route gets the raw socket and pipes bytes, with no frame re-encoding.
 */
export const ideProxyRoutes: FastifyPluginAsync<IdeProxyOptions> = async (app, { targets, auth }) => {
  // Bodies stream through untouched: no parsing, no body limit of the API.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.get('/ide/:name', { onRequest: auth, schema: { hide: true } }, (request, reply) => {
    const { name } = request.params as { name: string };
    return reply.redirect(`/ide/${encodeURIComponent(name)}/`, 308);
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/ide/:name/*',
    onRequest: auth,
    schema: { hide: true },
    async handler(request, reply) {
      const { name } = request.params as { name: string };
      const target = await targets.resolve(name);
      const path = upstreamPath(request.raw.url ?? '/');
      const websocket = request.headers.upgrade?.toLowerCase() === 'websocket';
      let upstream: Socket;
      try {
        upstream = await connectContainedSocket(target.socketPath);
      } catch (error) {
        targets.forget(name);
        throw new GatewayError(
          ErrorCode.IdeUnreachable,
          `the IDE of ${target.name} does not answer (${(error as Error).message}); it is being restarted, retry shortly`,
          { headers: { 'retry-after': '2' } },
          { cause: error },
        );
      }
      const headers = forwardedHeaders(request);
      if (websocket) return tunnel(request, reply, upstream, path, headers);
      return forward(request, reply, upstream, path, headers);
    },
  });
};

/** `/ide/<name>/<rest>?<query>` → `/<rest>?<query>`, as the browser sent it (no decoding). */
function upstreamPath(url: string): string {
  const rest = url.slice('/ide/'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '/' : rest.slice(slash);
}

/** The request's headers for code-server: hop-by-hop and lxr credentials out, X-Forwarded-* in. */
function forwardedHeaders(request: FastifyRequest): [string, string][] {
  const out: [string, string][] = [];
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    if (DROPPED_REQUEST.has(key) || key.startsWith('x-forwarded-') || key === 'forwarded') continue;
    if (key === 'cookie') {
      const kept = withoutSessionCookie(raw[i + 1]!);
      if (kept) out.push(['cookie', kept]);
      continue;
    }
    out.push([raw[i]!, raw[i + 1]!]);
  }
  const host = request.headers.host ?? 'localhost';
  out.push(
    ['x-forwarded-host', host],
    ['x-forwarded-proto', request.protocol],
    ['x-forwarded-for', request.ip],
  );
  return out;
}

function withoutSessionCookie(header: string): string {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.split('=', 1)[0]!.trim() !== SESSION_COOKIE)
    .join('; ');
}

/** A plain request: streamed to code-server, its response streamed back. */
function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  upstream: Socket,
  path: string,
  headers: [string, string][],
): Promise<FastifyReply> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({
      createConnection: () => upstream,
      method: request.method,
      path,
      headers: Object.fromEntries(groupHeaders(headers)),
    });
    outgoing.on('response', (response) => {
      reply.code(response.statusCode ?? 502);
      for (const [key, value] of Object.entries(response.headers)) {
        if (value !== undefined && !DROPPED_RESPONSE.has(key)) reply.header(key, value);
      }
      resolve(reply.send(response));
    });
    outgoing.on('error', (error) =>
      reject(
        new GatewayError(
          ErrorCode.IdeUnreachable,
          `the IDE stopped answering: ${error.message}`,
          {},
          { cause: error },
        ),
      ),
    );
    request.raw.on('aborted', () => outgoing.destroy());
    if (request.method === 'GET' || request.method === 'HEAD') outgoing.end();
    else request.raw.pipe(outgoing);
  });
}

/** Several values of one header (cookies split over lines) joined as HTTP allows. */
function groupHeaders(headers: [string, string][]): Map<string, string | string[]> {
  const grouped = new Map<string, string | string[]>();
  for (const [key, value] of headers) {
    const lower = key.toLowerCase();
    const existing = grouped.get(lower);
    if (existing === undefined) grouped.set(lower, value);
    else grouped.set(lower, Array.isArray(existing) ? [...existing, value] : [existing, value]);
  }
  return grouped;
}

/**
 * A WebSocket: the handshake goes to code-server as the browser sent it (with Origin and Host),
 * and from then on the two sockets are joined byte for byte; code-server answers the handshake.
 */
function tunnel(
  request: FastifyRequest,
  reply: FastifyReply,
  upstream: Socket,
  path: string,
  headers: [string, string][],
): void {
  reply.hijack();
  const client = request.raw.socket;
  const head = [
    `${request.method} ${path} HTTP/1.1`,
    ...headers.map(([key, value]) => `${key}: ${value}`),
    'Connection: Upgrade',
    `Upgrade: ${request.headers.upgrade}`,
  ];
  upstream.write(`${head.join('\r\n')}\r\n\r\n`);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.setNoDelay(true);
  upstream.pipe(client);
  client.pipe(upstream);
}
