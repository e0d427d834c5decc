/**
 * Stable codes of the executor's failures: the `code` of `ContainerFailed`, of exec errors and of
 * its logs. Documented in docs/ERRORS.md.
 */
export const ExecutorErrorCode = {
  /** Neither the image nor the request names a command (no Entrypoint, no Cmd, no command). */
  NoCommand: 'EXECUTOR_NO_COMMAND',
  /** `--user` (or the image's User) names a user or group missing from the image. */
  UserUnknown: 'EXECUTOR_USER_UNKNOWN',
  /** The OCI bundle could not be written (disk, permissions, a bad mount from the rootfs). */
  BundleFailed: 'EXECUTOR_BUNDLE_FAILED',
  /** The monitor or the runtime's `create` failed; the message carries the runtime's error. */
  CreateFailed: 'EXECUTOR_CREATE_FAILED',
  /** The runtime's `start` failed (e.g. the command is not found in the image). */
  StartFailed: 'EXECUTOR_START_FAILED',
  /** The container's monitor vanished without recording an exit (node reboot, killed monitor). */
  ContainerLost: 'EXECUTOR_CONTAINER_LOST',
  /** exec, kill, logs or stats asked about a container that is not running on this node. */
  NotRunning: 'EXECUTOR_NOT_RUNNING',
  /** exec could not start the process (bad user, working directory, command). */
  ExecFailed: 'EXECUTOR_EXEC_FAILED',
  /** A request to the executor was malformed. */
  BadRequest: 'EXECUTOR_BAD_REQUEST',
  /** The native binaries (lxr-monitor, lxr-init, the runtime) are missing. */
  NativeMissing: 'EXECUTOR_NATIVE_MISSING',
  /** `lxr down --purge` could not end a container's processes or remove its cgroup. */
  PurgeFailed: 'EXECUTOR_PURGE_FAILED',
} as const;
export type ExecutorErrorCode = (typeof ExecutorErrorCode)[keyof typeof ExecutorErrorCode];

/** An executor failure with a stable code; `message` says what failed and on which container. */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  readonly code: ExecutorErrorCode;
  constructor(code: ExecutorErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
