import { execFile } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

// The file-system side of volumes: finding a path of the image inside a container's root without
// leaving it, copying the image's content into a new volume, measuring a volume.

const run = promisify(execFile);
/** As the kernel's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Where `target` (an absolute path inside the container) is in the host's view of `root`, resolving
 * symlinks as if `root` were `/` — a link to `/etc` or `../../..` stays inside the root, as
 * openat2's RESOLVE_IN_ROOT does — or undefined when some component does not exist. A hostile image
 * therefore cannot point a volume's seed at the host's files. Resolved before the container runs,
 * while nothing else changes the tree.
 */
export async function resolveInRoot(root: string, target: string): Promise<string | undefined> {
  const pending = target.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const stat = await lstat(candidate).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!stat) return undefined;
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS)
      throw Object.assign(new Error(`too many symlinks resolving ${target}`), { code: 'ELOOP' });
    const link = await readlink(candidate);
    if (link.startsWith('/')) resolved.length = 0;
    pending.unshift(...link.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return path.join(root, ...resolved);
}

/** True when `dir` has no entries. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/**
 * Copies the content of `source` (a directory of the image) into the empty volume directory `dir`,
 * as docker fills a new volume: owners, modes, times, xattrs, hardlinks and symlinks (as links,
 * never followed) kept, and `dir` itself takes the owner and mode of `source`.
 */
export async function copyTree(source: string, dir: string): Promise<void> {
  await run('cp', ['-a', '--no-target-directory', '--', source, dir]);
}

/**
 * The bytes the files under `dir` hold, as docker counts a volume's size: apparent sizes of
 * everything but directories, each hardlinked file once; 0 when `dir` is gone.
 */
export async function treeSize(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const stat = await lstat(full, { bigint: false }).catch(() => undefined);
      if (!stat || (stat.nlink > 1 && seen.has(stat.ino))) continue;
      if (stat.nlink > 1) seen.add(stat.ino);
      total += stat.size;
    }
  };
  await walk(dir);
  return total;
}
