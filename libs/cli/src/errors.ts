import { ApiError, ClientError } from '@lxr/client';
import { ComposeError } from '@lxr/docker-free-compose/errors';

/** The exit codes of `lxr`, as docker's: 0 ok, 1 the operation failed, 125 the command line is wrong. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 125,
} as const;
/** One of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a message on stderr and an exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Failure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The command line is wrong (unknown flag, missing argument): exit 125 and a pointer to `--help`. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Usage, options);
  }
}

/**
 * The one place errors become what the user reads: the message already says what failed, on which
 * object and what to do (the API's problem detail, the compose error, the client's hint).
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ApiError) {
    if (error.status === 401) {
      return {
        message: `${error.message}\nThe token comes from LXR_TOKEN or \${LXR_HOME:-/var/lib/lxr}/api-token.`,
        exitCode: ExitCode.Failure,
      };
    }
    const fields = (error.problem.errors ?? [])
      .filter((e) => !error.message.includes(e.field))
      .map((e) => `\n  ${e.field || e.pointer || '(body)'}: ${e.message}`)
      .join('');
    return { message: `${error.message}${fields}`, exitCode: ExitCode.Failure };
  }
  // The client's (API unreachable, no token, …) and compose's messages say what to do already.
  if (error instanceof ClientError || error instanceof ComposeError) {
    return { message: error.message, exitCode: ExitCode.Failure };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${message}`, exitCode: ExitCode.Failure };
}
