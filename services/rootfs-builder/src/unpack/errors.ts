/**
 * Stable codes of a rejected layer: `UnpackError.code`, and so the `code` of `RootfsFailed`.
 * Documented in docs/ERRORS.md.
 */
export const UnpackErrorCode = {
  /** The target directory already exists, or its parent does not. */
  TargetExists: 'ROOTFS_LAYER_TARGET_EXISTS',
  /** The tar stream is not valid tar: bad checksum, truncated, an entry without a path. */
  Corrupt: 'ROOTFS_LAYER_CORRUPT',
  /** The sha256 of the uncompressed stream is not the diffID the image config records. */
  DiffIdMismatch: 'ROOTFS_LAYER_DIFF_ID_MISMATCH',
  /** More bytes than `maxBytes` (a decompression bomb, or a layer bigger than the node allows). */
  TooLarge: 'ROOTFS_LAYER_TOO_LARGE',
  /** More entries than `maxEntries`. */
  TooManyEntries: 'ROOTFS_LAYER_TOO_MANY_ENTRIES',
  /** A path or link target longer than `maxPathLength`, or a name longer than 255 bytes. */
  PathTooLong: 'ROOTFS_LAYER_PATH_TOO_LONG',
  /** A path that leaves the layer (`..` above its root) or goes through a symlink or a non-directory. */
  UnsafePath: 'ROOTFS_LAYER_UNSAFE_PATH',
  /** A hardlink to something that is not a regular file already in the layer. */
  UnsafeLink: 'ROOTFS_LAYER_UNSAFE_LINK',
  /** A malformed whiteout: `.wh.` alone, `.wh..`, `.wh...`, `.wh..wh.` other than `.wh..wh..opq`. */
  InvalidWhiteout: 'ROOTFS_LAYER_INVALID_WHITEOUT',
  /** An xattr the layer may not carry (`trusted.overlay.*`: it would forge overlay metadata). */
  ForbiddenXattr: 'ROOTFS_LAYER_FORBIDDEN_XATTR',
  /** An entry type lxr does not unpack (sparse files, tape volumes, Solaris ACLs…). */
  UnsupportedEntry: 'ROOTFS_LAYER_UNSUPPORTED_ENTRY',
  /** Writing the layer to disk failed (no space, I/O error…); the system's reason follows. */
  WriteFailed: 'ROOTFS_LAYER_WRITE_FAILED',
  /** The unpack was cancelled through its `AbortSignal`, or the input stream failed. */
  Aborted: 'ROOTFS_LAYER_ABORTED',
} as const;
/** One of the {@link UnpackErrorCode} strings. */
export type UnpackErrorCode = (typeof UnpackErrorCode)[keyof typeof UnpackErrorCode];

/** A layer the unpacker rejected; the message names the entry at fault. Nothing of it is left. */
export class UnpackError extends Error {
  override readonly name = 'UnpackError';
  constructor(
    readonly code: UnpackErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
