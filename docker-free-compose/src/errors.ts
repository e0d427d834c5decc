// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the docs quote compose-file syntax
/**
 * Stable codes of the errors this package throws. Each code's documentation is in {@link errorCodes};
 * a test checks that every code is documented.
 */
export const ComposeErrorCode = {
  InvalidFile: 'COMPOSE_INVALID_FILE',
  Interpolation: 'COMPOSE_INTERPOLATION',
  AlreadyRunning: 'COMPOSE_ALREADY_RUNNING',
  SupervisorExited: 'COMPOSE_SUPERVISOR_EXITED',
  ServiceFailed: 'COMPOSE_SERVICE_FAILED',
  Timeout: 'COMPOSE_TIMEOUT',
  Setup: 'COMPOSE_SETUP',
} as const;
/** One of {@link ComposeErrorCode}'s values. */
export type ComposeErrorCode = (typeof ComposeErrorCode)[keyof typeof ComposeErrorCode];

/** What each code means and what to do about it. */
export const errorCodes: Readonly<Record<ComposeErrorCode, string>> = {
  COMPOSE_INVALID_FILE:
    'The compose file is not valid YAML or breaks the schema: an unknown key, a wrong type, an unknown ' +
    '`depends_on` target or a dependency cycle. The message names the file and the key path; fix the file.',
  COMPOSE_INTERPOLATION:
    'A `${VAR}` in the compose file names a variable that is not set (or is malformed). Set the variable, ' +
    'or give a default with `${VAR:-default}`; the message names the key path.',
  COMPOSE_ALREADY_RUNNING:
    'Another supervisor already serves this LXR_HOME (its control socket answers). Use `composeStatus` or ' +
    'stop it with `composeDown` first.',
  COMPOSE_SUPERVISOR_EXITED:
    'The supervisor daemon exited before it was ready or while we waited; the message quotes the end of ' +
    '`${LXR_HOME}/logs/supervisor.log`.',
  COMPOSE_SERVICE_FAILED:
    'A service failed to start (its init step or command failed, or it kept crashing before it was ready). ' +
    'The message names the service and its log file; read the log, fix the cause, run `up` again.',
  COMPOSE_TIMEOUT:
    'The operation did not finish in time: services not ready for `up`, processes still alive for `down`. ' +
    'The message names the services still waiting and their log files.',
  COMPOSE_SETUP:
    'The supervisor could not prepare the host: a directory, a user, the secrets or the control socket. ' +
    'The message names the path or user.',
};

/**
 * Every error this package throws on purpose: a stable {@link code}, a message that says what failed,
 * on which object and what to do, and the original error as `cause`.
 */
export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  constructor(
    readonly code: ComposeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
