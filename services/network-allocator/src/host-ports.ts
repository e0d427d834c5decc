import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortBinding, PublishedPort } from '@lxr/events';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { describePort } from './ipam.decider.js';

/**
 * Binds the port for an instant, as the container's listener would be reached: a process on the
 * host holding it would steal (or shadow) the traffic DNAT sends the container. `port` 0 lets the
 * kernel choose a free one. Resolves with the port bound.
 */
function probe(protocol: 'tcp' | 'udp', host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'tcp') {
      const server = createServer();
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        const bound = (server.address() as { port: number }).port;
        server.close(() => resolve(bound));
      });
    } else {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind({ address: host, port, exclusive: true }, () => {
        const bound = socket.address().port;
        socket.close(() => resolve(bound));
      });
    }
  });
}

/**
 * The host ports a container asked for, checked free on the host, with each 0 replaced by a port
 * the kernel found free. Throws `NETWORK_PORT_IN_USE` naming the port a process holds.
 * (Ports other containers publish are checked against the node's allocations, in the decider.)
 */
export async function resolveHostPorts(bindings: readonly PortBinding[]): Promise<PublishedPort[]> {
  return Promise.all(
    bindings.map(async ({ hostIp, ...rest }) => {
      // `0.0.0.0` is every address, as no address is: one form, so the rules and clashes agree.
      const b: PortBinding = hostIp === undefined || hostIp === '0.0.0.0' ? rest : { ...rest, hostIp };
      try {
        const hostPort = await probe(b.protocol, b.hostIp ?? '0.0.0.0', b.hostPort);
        return { ...b, hostPort };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const port = describePort({ ...b, hostPort: b.hostPort });
        if (code === 'EADDRINUSE' || code === 'EACCES') {
          throw new NetworkError(
            NetworkErrorCode.PortInUse,
            `host port ${port} is already in use by a process on the host; choose another host port (-p)`,
            { cause: error },
          );
        }
        throw new NetworkError(
          NetworkErrorCode.PortInUse,
          `cannot publish host port ${port}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }),
  );
}
