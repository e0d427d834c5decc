import http from 'node:http';
import { ComposeError, ComposeErrorCode } from '../errors.js';
import type { ComposeStatus } from '../status.js';

/** Linux's limit on a unix socket path (sun_path holds 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** Throws COMPOSE_SETUP when `socketPath` is too long to be a unix socket. */
export function checkSocketPath(socketPath: string): void {
  const length = Buffer.byteLength(socketPath);
  if (length > MAX_SOCKET_PATH) {
    throw new ComposeError(
      ComposeErrorCode.Setup,
      `the control socket path ${socketPath} is ${length} bytes, more than unix sockets allow ` +
        `(${MAX_SOCKET_PATH}); choose a shorter LXR_HOME`,
    );
  }
}

/** Thrown when no supervisor listens on the socket (absent or refusing). */
export class NotRunningError extends Error {
  override readonly name = 'NotRunningError';
}

/** One request to the control endpoint; resolves with the parsed JSON body. */
export function controlRequest<T>(
  socketPath: string,
  method: 'GET' | 'POST',
  route: string,
  timeoutMs = 5000,
): Promise<{ status: number; body: T }> {
  checkSocketPath(socketPath);
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, method, path: route, timeout: timeoutMs }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch (error) {
          reject(new Error(`the supervisor answered ${method} ${route} with invalid JSON`, { cause: error }));
        }
      });
      response.on('error', reject);
    });
    request.on('timeout', () =>
      request.destroy(new Error(`the supervisor did not answer ${method} ${route}`)),
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      const gone = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(error.code ?? '');
      reject(gone ? new NotRunningError(`no supervisor on ${socketPath}`, { cause: error }) : error);
    });
    request.end();
  });
}

/** `GET /status`, or null when no supervisor answers. */
export async function fetchStatus(socketPath: string): Promise<ComposeStatus | null> {
  return statusOrNull(controlRequest<ComposeStatus>(socketPath, 'GET', '/status'));
}

/** `POST /up`: the supervisor starts its failed services again and answers its status; null when none runs. */
export async function retryFailed(socketPath: string): Promise<ComposeStatus | null> {
  try {
    return await statusOrNull(controlRequest<ComposeStatus>(socketPath, 'POST', '/up'));
  } catch {
    // The supervisor is there but did not answer the retry (e.g. it timed out): look at it afresh.
    return fetchStatus(socketPath);
  }
}

async function statusOrNull(request: Promise<{ body: ComposeStatus }>): Promise<ComposeStatus | null> {
  try {
    return (await request).body;
  } catch (error) {
    if (error instanceof NotRunningError) return null;
    throw error;
  }
}
