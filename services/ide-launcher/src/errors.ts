/**
 * Stable reason codes of the ide-launcher: the `code` of `IdeFailed`. Documented in docs/ERRORS.md.
 */
export const IdeErrorCode = {
  /** The container has no tools layer: /opt/lxr/bin/code-server is missing (tools bundle not built). */
  ToolsMissing: 'IDE_TOOLS_MISSING',
  /** The executor could not start code-server in the container (the message carries why). */
  LaunchFailed: 'IDE_LAUNCH_FAILED',
  /** code-server exited before it answered (its last output is in the message). */
  ExitedEarly: 'IDE_EXITED_EARLY',
  /** code-server ran but did not answer on its socket in time. */
  Timeout: 'IDE_TIMEOUT',
  /** The IDE's directory in the container is a symlink or a file: the node will not follow it. */
  UnsafePath: 'IDE_UNSAFE_PATH',
} as const;
export type IdeErrorCode = (typeof IdeErrorCode)[keyof typeof IdeErrorCode];

/** An ide-launcher failure with a stable code; `message` says what failed and on which container. */
export class IdeError extends Error {
  override readonly name = 'IdeError';
  readonly code: IdeErrorCode;
  constructor(code: IdeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
