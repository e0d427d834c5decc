import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RootfsMount } from '@lxr/events';
import { RootfsError, RootfsErrorCode } from './errors.js';
import type { LayerCache } from './layer-cache.js';
import { type Mounter, mountPoints } from './mounts.js';
import { treeSize } from './volumes/volume-files.js';

/** One container's directories: `<root>/<id>/{u,w,m}` (short names: they are in the mount options). */
export interface ContainerPaths {
  readonly dir: string;
  readonly upper: string;
  readonly work: string;
  readonly merged: string;
  /** The image's diffIDs (bottom first) the overlay stacks: the container's layer references. */
  readonly layers: string;
}

/**
 * Per-container root filesystems: an overlay of the image's cached layers (read-only, shared) under
 * the container's own upper and work directories, mounted on `<root>/<id>/m`, the bundle's
 * `root.path`. The layers a container stacks are recorded next to it (`layers.json`), which is what
 * keeps them from the layer cache's garbage collection.
 */
export class ContainerRootfs {
  #ready: Promise<unknown> | undefined;

  constructor(
    readonly root: string,
    private readonly cache: LayerCache,
    private readonly mounter: Mounter,
  ) {}

  paths(containerId: string): ContainerPaths {
    const dir = path.join(this.root, containerId);
    return {
      dir,
      upper: path.join(dir, 'u'),
      work: path.join(dir, 'w'),
      merged: path.join(dir, 'm'),
      layers: path.join(dir, 'layers.json'),
    };
  }

  /**
   * Makes the container's directories and mounts its overlay; every layer must be in the cache (and
   * stay pinned until this resolves: `layers.json` is written last). Answers the mounted root
   * filesystem's path. On failure nothing of the container is left.
   */
  async create(containerId: string, diffIds: readonly string[]): Promise<string> {
    const p = this.paths(containerId);
    const lower = this.cache.lowerdir(diffIds);
    try {
      this.#ready ??= mkdir(this.root, { recursive: true, mode: 0o700 });
      await this.#ready;
      // The helper makes the directories and mounts in one request; the layer list follows.
      await this.mounter.prepare(this.cache.root, lower, p.dir);
      await writeFile(p.layers, JSON.stringify(diffIds));
    } catch (error) {
      await this.remove(containerId).catch(() => undefined);
      if (error instanceof RootfsError) throw error;
      throw new RootfsError(
        RootfsErrorCode.PrepareFailed,
        `cannot record the layers of container ${containerId.slice(0, 12)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return p.merged;
  }

  /** Mounts a container's overlay again (after a reboot) from its recorded layers; false if it has none. */
  async remount(containerId: string): Promise<boolean> {
    const p = this.paths(containerId);
    const diffIds = await this.layersOf(containerId);
    if (!diffIds?.every((d) => this.cache.has(d))) return false;
    // The kernel refuses a work dir a previous mount left its index/work state in: start it afresh.
    await rm(p.work, { recursive: true, force: true });
    await mkdir(p.work, { mode: 0o700 });
    await this.mounter.overlay(this.cache.root, this.cache.lowerdir(diffIds), p.upper, p.work, p.merged);
    return true;
  }

  /**
   * Unmounts the container's overlay and removes its directories; a container that has none is
   * fine. Refuses to delete while the overlay is still mounted (the upper dir would be deleted
   * through it).
   */
  async remove(containerId: string): Promise<boolean> {
    const p = this.paths(containerId);
    if (!(await exists(p.dir))) return false;
    await this.mounter.unmount(p.merged);
    if ((await mountPoints()).has(p.merged)) {
      throw new RootfsError(
        RootfsErrorCode.UnmountFailed,
        `${p.merged} is still mounted after unmounting it; its directories were kept`,
      );
    }
    await rm(p.dir, { recursive: true, force: true });
    return true;
  }

  /** The containers that have directories here. */
  async containers(): Promise<string[]> {
    return readdir(this.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
  }

  /** The diffIDs a container's overlay stacks, if it has a record of them. */
  async layersOf(containerId: string): Promise<string[] | undefined> {
    try {
      const list = JSON.parse(await readFile(this.paths(containerId).layers, 'utf8')) as unknown;
      return Array.isArray(list) && list.every((d) => typeof d === 'string') ? list : undefined;
    } catch {
      return undefined;
    }
  }

  /** Bytes the containers wrote into their upper directories, by container. */
  async upperSizes(): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const id of await this.containers()) sizes.set(id, await treeSize(this.paths(id).upper));
    return sizes;
  }
}

/**
 * The node's tools bundle (`$LXR_HOME/tools/current`, a symlink to a version), bind-mounted
 * read-only at `/opt/lxr`: resolved through the symlink now, so a container keeps the version it
 * started with while a newer one is installed. Nothing when the node has none.
 */
export async function toolsMount(toolsDir: string): Promise<RootfsMount | undefined> {
  let source: string;
  try {
    source = await realpath(path.join(toolsDir, 'current'));
    if (!(await stat(source)).isDirectory()) return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return { destination: '/opt/lxr', source, type: 'bind', options: ['rbind', 'ro', 'nosuid', 'nodev'] };
}

/** True when `file` exists (any kind). */
export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
