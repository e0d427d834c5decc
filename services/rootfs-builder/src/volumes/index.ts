/**
 * Volumes of the rootfs-builder (issue 4 item 5): named volumes, anonymous volumes and bind mounts,
 * turned into the `mounts` of `RootfsPrepared`.
 *
 * How the service uses it (main.ts / the container handler):
 *
 * ```ts
 * const volumes = new VolumeStore({ root: path.join(config.home, 'volumes'), node: config.node, store, logger });
 * serveVolumeRequests(ctx, volumes); // lxr volume create|ls|inspect|rm|prune, through the gateway
 *
 * // on ImagePulled for a container of this node, once its overlay is mounted at rootfsPath:
 * const mounts = await volumes.prepare(containerId, requested.volumes ?? [], rootfsPath);
 * //   → RootfsPrepared { …, mounts }; a VolumeError → RootfsFailed { code: error.code, message }
 * //     (its codes are ROOTFS_VOLUME_*; prepare has undone what it recorded before throwing).
 * // on ContainerRemoved:
 * await volumes.release(containerId, { removeAnonymous: requested.autoRemove === true || removed.volumes === true });
 * // lxr system df / prune:
 * await volumes.usage();  // VolumeUsage[]: every volume with its size and users
 * await volumes.prune();  // unused anonymous volumes (docker ≥ 23); prune({ all: true }) every unused one
 * ```
 *
 * Details to know:
 * - `prepare` must run after the overlay is mounted: a new (or empty) volume is filled with what the
 *   image has at the destination, read from `rootfsPath` without following links out of it.
 * - `prepare` is idempotent per container: an anonymous volume's name is derived from the container
 *   id and destination, so a redelivered event finds the same volume.
 * - Run `prepare` and `release` of one container one after the other (a release that overtakes the
 *   prepare would leave the container recorded as a user, and the volume unremovable until the next
 *   release of that container).
 * - Bind mounts: a missing host directory is made (docker's `-v`); the host's `/` is refused.
 * - Layout: `$LXR_HOME/volumes/<name>/_data` (what containers see) and `<name>/containers/<id>`
 *   (who uses it); the log is `volume-node-<node>` (VolumeCreated / VolumeRemoved).
 */
export { VolumeError, VolumeErrorCode } from './errors.js';
export { serveVolumeRequests } from './volume-requests.js';
export { anonymousVolumeName, planMounts } from './volume-spec.js';
export { VolumeStore, type VolumeStoreDeps, type VolumeUsage } from './volume-store.js';
