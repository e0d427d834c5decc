import http from 'node:http';
import { connectContainedSocket } from '@lxr/service-kit';

/**
 * Asks code-server for its root page over its unix socket; true when it answers (200, or the 302 to
 * the folder). Not `/healthz`, which answers before VS Code's server is loaded: code-server loads it
 * on the first page request, so this probe makes `IdeReady` mean the IDE serves, and warms it up for
 * the user. Every failure (no socket yet, refused, a timeout) is false: the caller polls.
 */
export async function probeCodeServer(socketPath: string, timeoutMs = 10_000): Promise<boolean> {
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
        path: '/',
        headers: { host: 'localhost' },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 200 || response.statusCode === 302));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end();
  });
}
