import { lstat, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ContainedPathError, inContainedDir, openContainedDir } from '@lxr/service-kit';
import { IDE_DIR, SOCKET_NAME } from '../domain/code-server.js';
import { IdeError, IdeErrorCode } from '../errors.js';

/**
 * Makes the IDE's directory at the root of a container's filesystem (seen from the node at
 * `rootfsPath`) and removes a socket a previous code-server left, never following a symlink the
 * container may have put there. Returns the socket's path on the node.
 */
export async function prepareIdeDir(rootfsPath: string): Promise<string> {
  const dir = path.join(rootfsPath, IDE_DIR);
  await mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  let handle: Awaited<ReturnType<typeof openContainedDir>>;
  try {
    handle = await openContainedDir(dir);
  } catch (error) {
    if (error instanceof ContainedPathError)
      throw new IdeError(IdeErrorCode.UnsafePath, error.message, { cause: error });
    throw error;
  }
  try {
    // Any container user may create the socket; sticky, so none can remove another's files.
    await handle.chmod(0o1777);
    await unlink(inContainedDir(handle, SOCKET_NAME)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  } finally {
    await handle.close();
  }
  return path.join(dir, SOCKET_NAME);
}

/** True when the container has a directory at `inside` (an absolute path in the container), not a symlink. */
export async function hasDirectory(rootfsPath: string, inside: string): Promise<boolean> {
  const stat = await lstat(path.join(rootfsPath, inside)).catch(() => undefined);
  return stat?.isDirectory() ?? false;
}
