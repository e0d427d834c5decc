import { constants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** Thrown when a path inside a container's root filesystem is not what the node expects. */
export class ContainedPathError extends Error {
  override readonly name = 'ContainedPathError';
}

/**
 * Opens a directory a container controls (its parent is the node's) without following a symlink:
 * a container could swap the directory for a link to anywhere on the host, and `O_NOFOLLOW` plus
 * working through `/proc/self/fd/<fd>` afterwards means the node only ever touches the directory it
 * checked. Close the handle when done.
 */
export async function openContainedDir(dir: string): Promise<FileHandle> {
  try {
    return await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw new ContainedPathError(
        `${dir} is not a directory (a symlink or a file put there in the container)`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** The path of `name` inside a directory opened by {@link openContainedDir}. */
export const inContainedDir = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`;

/**
 * Connects to a unix socket that lives in a container's root filesystem (`socketPath` on the node),
 * refusing a socket that is not one — a symlink or a file put in its place — so a container cannot
 * point the node at a host socket of its choosing. The directory is opened without following links
 * and the socket reached through its descriptor.
 *
 * @example
 * const socket = await connectContainedSocket('/var/lib/lxr/rootfs/ab12…/merged/.lxr-ide/code-server.sock');
 */
export async function connectContainedSocket(socketPath: string): Promise<net.Socket> {
  const dir = await openContainedDir(path.dirname(socketPath));
  try {
    const target = inContainedDir(dir, path.basename(socketPath));
    const stat = await lstat(target);
    if (!stat.isSocket()) throw new ContainedPathError(`${socketPath} is not a unix socket`);
    return await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(target);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  } finally {
    await dir.close();
  }
}
