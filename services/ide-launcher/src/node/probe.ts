import http from 'node:http';
import { connectContainedSocket } from '@lxr/service-kit';

/**
 * Asks code-server's health endpoint over its unix socket; true when it answers 200. Every failure
 * (no socket yet, refused, a timeout) is false: the caller polls.
 */
export async function probeCodeServer(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  let socket: Awaited<ReturnType<typeof connectContainedSocket>>;
  try {
    socket = await connectContainedSocket(socketPath);
  } catch {
    return false;
  }
  return new Promise<boolean>((resolve) => {
    const request = http.request(
      {
        createConnection: () => socket,
        path: '/healthz',
        headers: { host: 'localhost' },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 200));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end();
  });
}
