// A small HTTP proxy in front of a real registry that injects faults, for the pull tests.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** What to do with a request instead of passing it on. */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: string | Buffer;
    }
  /** Pass it on but cut the connection after this many body bytes (Content-Length stays the full one). */
  | { readonly kind: 'drop-after'; readonly bytes: number }
  /** Pass it on but stop sending after this many body bytes, keeping the connection open. */
  | { readonly kind: 'stall-after'; readonly bytes: number }
  /** Pass it on with the body changed; Content-Length follows the new body. */
  | { readonly kind: 'rewrite'; readonly transform: (body: Buffer) => Buffer }
  /** Answer with a body streamed without Content-Length. */
  | { readonly kind: 'chunked'; readonly size: number; readonly contentType: string };

/** Picks a fault for a request (by its index among all requests), or `undefined` to pass it on. */
export type FaultRule = (request: SeenRequest, index: number) => Fault | undefined;

export interface FaultProxy {
  readonly host: string;
  readonly requests: SeenRequest[];
  rule: FaultRule;
  close(): Promise<void>;
}

export async function startFaultProxy(
  upstream: string,
  rule: FaultRule = () => undefined,
): Promise<FaultProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const requests: SeenRequest[] = [];
  const proxy: FaultProxy = { host: '', requests, rule, close: async () => {} };
  const server = http.createServer((req, res) => {
    const seen = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    const fault = proxy.rule(seen, requests.length);
    requests.push(seen);
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, fault.headers ?? {}).end(fault.body ?? '');
      return;
    }
    if (fault?.kind === 'chunked') {
      res.writeHead(200, { 'content-type': fault.contentType });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = fault.size;
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
      return;
    }
    const upstreamReq = http.request(
      {
        host: upHost,
        port: Number(upPort),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        if (!fault) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          if (fault.kind === 'rewrite') {
            const changed = fault.transform(body);
            res
              .writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(changed.length) })
              .end(changed);
          } else if (fault.kind === 'stall-after') {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.write(body.subarray(0, fault.bytes));
          } else {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.write(body.subarray(0, fault.bytes), () => res.socket?.destroy());
          }
        });
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
