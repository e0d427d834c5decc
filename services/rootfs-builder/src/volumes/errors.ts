/**
 * Stable codes of volume failures: the `code` of the `RootfsFailed` a bad `-v` causes, and of the
 * node's answers to `lxr volume …`. Documented in docs/ERRORS.md.
 */
export const VolumeErrorCode = {
  /** A `-v` is malformed: a relative, unnormalised or root destination, a duplicate, a bad name or host path. */
  Invalid: 'ROOTFS_VOLUME_INVALID',
  /** A bind mount's host path could not be created or is not a file or directory. */
  HostPath: 'ROOTFS_VOLUME_HOST_PATH',
  /** No volume of that name on the node. */
  NotFound: 'ROOTFS_VOLUME_NOT_FOUND',
  /** The volume is used by a container on the node (docker refuses this even with `-f`). */
  InUse: 'ROOTFS_VOLUME_IN_USE',
  /** Copying the image's content at the destination into a new volume failed. */
  SeedFailed: 'ROOTFS_VOLUME_SEED_FAILED',
  /** The node's volume stream kept changing under the writer; retry. */
  Conflict: 'ROOTFS_VOLUME_CONFLICT',
} as const;
export type VolumeErrorCode = (typeof VolumeErrorCode)[keyof typeof VolumeErrorCode];

/** A volume failure with a stable code; `message` names the volume (or `-v`) at fault. */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
  readonly code: VolumeErrorCode;
  constructor(code: VolumeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
