// Every code the rootfs-builder reports, in one place: its own, the unpacker's and the volumes'.
export { UnpackErrorCode } from './unpack/errors.js';
export { VolumeErrorCode } from './volumes/errors.js';

/**
 * Stable codes of the rootfs-builder's own failures: the `code` of `RootfsFailed` (besides the
 * unpacker's `ROOTFS_LAYER_*` and the volumes' `ROOTFS_VOLUME_*`) and of `lxr system` replies.
 * Documented in docs/ERRORS.md.
 */
export const RootfsErrorCode = {
  /** A layer the image names is no longer in the node's image store (removed while in use). */
  LayerMissing: 'ROOTFS_LAYER_MISSING',
  /** The overlay mount of a container's root filesystem failed (the kernel's reason follows). */
  MountFailed: 'ROOTFS_MOUNT_FAILED',
  /** Unmounting a container's root filesystem failed; its directories were kept. */
  UnmountFailed: 'ROOTFS_UNMOUNT_FAILED',
  /** Making the container's directories, or another file system step, failed. */
  PrepareFailed: 'ROOTFS_PREPARE_FAILED',
} as const;
export type RootfsErrorCode = (typeof RootfsErrorCode)[keyof typeof RootfsErrorCode];

/** A failure of the rootfs-builder with its stable code. */
export class RootfsError extends Error {
  override readonly name = 'RootfsError';
  constructor(
    readonly code: RootfsErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The reason code of any failure: the error's own `ROOTFS_*` code, else `ROOTFS_PREPARE_FAILED`. */
export function rootfsCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^ROOTFS_[A-Z0-9_]{2,56}$/.test(code)
    ? code
    : RootfsErrorCode.PrepareFailed;
}

/** The message of anything thrown. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
