import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceError, ServiceKitErrorCode } from './errors.js';

/**
 * A readiness check: `true` when ready; `false` or a reason string when not. A check that
 * throws or takes longer than the check timeout counts as not ready.
 */
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;

/** The result of one readiness check. */
export interface CheckResult {
  readonly ok: boolean;
  readonly reason?: string;
}

/** What `/readyz` reports. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly status: 'ready' | 'not ready' | 'shutting down';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  /** Port to listen on; 0 turns the HTTP server off (checks still work in-process). */
  readonly port: number;
  /** Address to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /** Shown by `/healthz`. */
  readonly service: string;
  readonly node?: string;
  /** Per-check time limit; default 2 s. */
  readonly checkTimeoutMs?: number;
}

/** The health endpoints of one process. */
export interface HealthServer {
  /** The port it listens on, or undefined when off. */
  readonly port: number | undefined;
  /** Adds (or replaces) a named readiness check. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** From now on `/readyz` answers 503 "shutting down", so load balancers stop sending work. */
  setShuttingDown(): void;
  /** Runs every readiness check, as `/readyz` does. */
  readiness(): Promise<ReadinessReport>;
  close(): Promise<void>;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(check),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
    if (result === true) return { ok: true };
    return { ok: false, reason: typeof result === 'string' ? result : 'not ready' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/**
 * Starts the health endpoints, with no framework:
 *
 * - `GET /healthz`: 200 `{"status":"ok",…}` while the process runs (liveness).
 * - `GET /readyz`: 200 `{"status":"ready","checks":{…}}` when every readiness check passes,
 *   503 with each check's result otherwise, and 503 `"shutting down"` once shutdown began.
 *
 * @example
 * const health = await startHealthServer({ port: config.healthPort, service: 'executor' });
 * health.addReadinessCheck('nats', () => bus.isConnected() || 'disconnected from NATS');
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const checks = new Map<string, ReadinessCheck>();
  const timeoutMs = options.checkTimeoutMs ?? 2_000;
  const startedAt = Date.now();
  let shuttingDown = false;

  const readiness = async (): Promise<ReadinessReport> => {
    const entries = await Promise.all(
      [...checks].map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
    );
    const ok = entries.every(([, result]) => result.ok);
    return {
      ready: ok && !shuttingDown,
      status: shuttingDown ? 'shutting down' : ok ? 'ready' : 'not ready',
      checks: Object.fromEntries(entries),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    if (path !== '/healthz' && path !== '/readyz') {
      send(res, 404, { error: 'not found', paths: ['/healthz', '/readyz'] });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      send(res, 200, {
        status: 'ok',
        service: options.service,
        ...(options.node ? { node: options.node } : {}),
        pid: process.pid,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      });
      return;
    }
    const report = await readiness();
    send(res, report.ready ? 200 : 503, { status: report.status, checks: report.checks });
  };

  let server: Server | undefined;
  if (options.port !== 0) {
    const s = createServer((req, res) => {
      handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', (error) =>
        reject(
          new ServiceError(
            ServiceKitErrorCode.HealthServerFailed,
            `the health server could not listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      s.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
    server = s;
  }

  return {
    port: server ? (server.address() as AddressInfo).port : undefined,
    addReadinessCheck(name, check) {
      checks.set(name, check);
    },
    setShuttingDown() {
      shuttingDown = true;
    },
    readiness,
    async close() {
      if (!server?.listening) return;
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
