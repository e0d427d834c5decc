// `lxr down --purge`, the rootfs-builder's part: once the services are stopped and the containers'
// processes are gone (@lxr/executor/purge), unmount and delete the containers' root filesystems and
// the volumes. The event log that recorded the volumes is deleted by the purge, so they go too. The
// layer cache and the image store stay: they are caches keyed by content, which the next `lxr up`
// reconciles at start (the image store is what `lxr images` lists; unused layers are collected).
// The tools bundle stays too: it is expensive to build and keyed by its version.
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, processExists } from '@lxr/service-kit';
import { rootfsConfigSpec } from './config.js';
import { RootfsError, RootfsErrorCode } from './errors.js';
import { Mounter, mountPoints } from './mounts.js';

/** The directories under LXR_HOME that `lxr down --purge` deletes (besides the containers' mounts). */
export const PURGED_DIRS = ['rootfs', 'volumes'] as const;

/** What {@link purgeRootfs} removed. */
export interface RootfsPurgeReport {
  /** The mount points it detached. */
  readonly unmounted: readonly string[];
  /** The `lxr-mount serve` helpers it ended. */
  readonly helpers: number;
}

/** The mount points under `dir` (not `dir` itself), deepest first: the order they can be detached in. */
export function mountsUnder(points: Iterable<string>, dir: string): string[] {
  const prefix = `${path.resolve(dir)}/`;
  return [...points]
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** True for an `lxr-mount serve` process (its `cmdline`, NUL-separated). */
export const isMountHelper = (cmdline: string): boolean => {
  const [binary, verb] = cmdline.split('\0');
  return (binary?.endsWith('lxr-mount') ?? false) && verb === 'serve';
};

/**
 * Ends the `lxr-mount serve` helpers working in `home` (the helper's working directory is the layer
 * cache). A helper exits when its rootfs-builder closes its stdin; this is for one that survived.
 */
async function endMountHelpers(home: string): Promise<number> {
  const prefix = `${path.resolve(home)}/`;
  const helpers: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    if (!isMountHelper(await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''))) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    if (`${cwd}/`.startsWith(prefix)) helpers.push(Number(entry));
  }
  for (const pid of helpers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (let i = 0; i < 250 && helpers.some(processExists); i++) await sleep(20);
  return helpers.length;
}

/**
 * Detaches every mount under `home` (the containers' overlays on `rootfs/<id>/m`, and anything a
 * crash left there), then deletes {@link PURGED_DIRS}. Nothing is deleted while a mount under `home`
 * remains: it would delete through the mount. Reads `LXR_NATIVE_DIR` from `env` as the
 * rootfs-builder does. A home with nothing of the rootfs-builder is fine.
 */
export async function purgeRootfs(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RootfsPurgeReport> {
  const { nativeDir } = loadConfig({ nativeDir: rootfsConfigSpec.nativeDir }, env);
  const helpers = await endMountHelpers(home);
  const unmounted = mountsUnder(await mountPoints(), home);
  if (unmounted.length > 0) {
    const mounter = new Mounter(path.join(nativeDir, 'lxr-mount'));
    try {
      for (const point of unmounted) await mounter.unmount(point);
    } finally {
      mounter.close();
    }
    const left = mountsUnder(await mountPoints(), home);
    if (left.length > 0) {
      throw new RootfsError(
        RootfsErrorCode.UnmountFailed,
        `still mounted after detaching them: ${left.join(', ')}; nothing under ${home} was deleted`,
      );
    }
  }
  for (const dir of PURGED_DIRS) await rm(path.join(home, dir), { recursive: true, force: true });
  return { unmounted, helpers };
}
