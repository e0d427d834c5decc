import type { Problem } from './types.js';

/** Stable codes of the errors this package throws (besides the API's own codes in `ApiError.code`). */
export const ClientErrorCode = {
  /** The API answered with an error (its problem's code is in `ApiError.code`). */
  Api: 'CLIENT_API_ERROR',
  /** Nothing answered at the API's URL, or the connection broke. */
  Unreachable: 'CLIENT_API_UNREACHABLE',
  /** No token in LXR_TOKEN nor in `${LXR_HOME}/api-token`. */
  TokenMissing: 'CLIENT_TOKEN_MISSING',
  /** The API answered something that is not what the route promises. */
  BadResponse: 'CLIENT_BAD_RESPONSE',
} as const;
/** One of {@link ClientErrorCode}. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Base of every error the client throws. */
export class ClientError extends Error {
  override readonly name: string = 'ClientError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The API answered with an error status. `problem` is its problem+json (or one made up from the
 * status when the body was not problem+json); `code` is the problem's stable code.
 *
 * @example
 * try { await client.containers.get('web'); }
 * catch (e) { if (e instanceof ApiError && e.status === 404) console.error(e.message); }
 */
export class ApiError extends ClientError {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly problem: Problem,
    options?: ErrorOptions,
  ) {
    super(problem.code, problem.detail, options);
    this.status = problem.status;
  }
}

/** Nothing answered at the API's URL. The message says where and what to do. */
export class ApiUnreachableError extends ClientError {
  override readonly name = 'ApiUnreachableError';
  constructor(
    readonly url: string,
    options?: ErrorOptions,
  ) {
    const reason = causeCode(options?.cause);
    super(
      ClientErrorCode.Unreachable,
      `cannot reach the lxr API at ${url}${reason ? ` (${reason})` : ''}; is lxr running? Start it with \`lxr up\`, or set LXR_API_URL`,
      options,
    );
  }
}

/** No API token was found. */
export class TokenMissingError extends ClientError {
  override readonly name = 'TokenMissingError';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(ClientErrorCode.TokenMissing, message, options);
  }
}

/** The error code (`ECONNREFUSED`, …) under a fetch failure, if any. */
function causeCode(cause: unknown): string | undefined {
  for (let c = cause, depth = 0; c && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code === 'ECONNREFUSED' ? 'connection refused' : code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}
