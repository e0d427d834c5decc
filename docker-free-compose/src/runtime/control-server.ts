import { rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { checkSocketPath } from '../client/control-client.js';
import { ComposeError, ComposeErrorCode } from '../errors.js';
import type { ComposeStatus } from '../status.js';

/** What the control endpoint can do to the supervisor. */
export interface ControlHandlers {
  status(): ComposeStatus;
  /** Starts stopping everything; the supervisor exits when done. */
  down(): void;
  /** Starts failed services again. */
  up(): void;
}

/**
 * Serves the control endpoint: HTTP over the unix socket `socketPath` (mode 0600).
 * `GET /status` answers the {@link ComposeStatus}; `POST /down` and `POST /up` answer 202 and act.
 * Refuses (COMPOSE_ALREADY_RUNNING) when another supervisor answers on the socket; removes a stale one.
 */
export async function serveControl(socketPath: string, handlers: ControlHandlers): Promise<http.Server> {
  checkSocketPath(socketPath);
  if (await answers(socketPath)) {
    throw new ComposeError(
      ComposeErrorCode.AlreadyRunning,
      `another supervisor is already running on ${socketPath}`,
    );
  }
  await rm(socketPath, { force: true });
  const server = http.createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(`${JSON.stringify(body)}\n`);
    };
    const route = `${request.method} ${request.url}`;
    request.resume();
    switch (route) {
      case 'GET /status':
        return send(200, handlers.status());
      case 'POST /down':
        send(202, { stopping: true });
        return handlers.down();
      case 'POST /up':
        handlers.up();
        return send(202, handlers.status());
      default:
        return send(404, { error: `no route ${route}; use GET /status, POST /up or POST /down` });
    }
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  return server;
}

/** Whether something accepts connections on the unix socket `socketPath`. */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
