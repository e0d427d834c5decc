/**
 * Stable codes of the errors `@lxr/bus` throws or writes into dead letters. Never change a
 * code's meaning; add a new one instead, and list it in docs/ERRORS.md (a test checks).
 */
export const BusErrorCode = {
  /** Could not connect to NATS. Check LXR_NATS_URL and that nats-server runs. */
  ConnectFailed: 'BUS_CONNECT_FAILED',
  /** The bus was used after close(). A shutdown bug in the caller. */
  Closed: 'BUS_CLOSED',
  /** Creating or updating LXR_EVENTS / LXR_DLQ failed. Check that JetStream is enabled and has storage. */
  StreamSetupFailed: 'BUS_STREAM_SETUP_FAILED',
  /** Bad subscribe/connect options (e.g. a durable name with dots). Fix the calling code. */
  InvalidOptions: 'BUS_INVALID_OPTIONS',
  /** publish() got an event type the catalog does not know, so it has no subject. */
  UnknownEventType: 'BUS_UNKNOWN_EVENT_TYPE',
  /** JetStream did not acknowledge a publish (timeout, no JetStream, disconnected). Retry. */
  PublishFailed: 'BUS_PUBLISH_FAILED',
  /** The durable consumer could not be created or changed (e.g. its filter subject differs). */
  SubscribeFailed: 'BUS_SUBSCRIBE_FAILED',
  /** A message on the event stream is not JSON at all; it was dead-lettered. */
  InvalidMessage: 'BUS_INVALID_MESSAGE',
  /** An event failed maxDeliver times (or its handler kept dying); it went to lxr.dlq.<durable>. */
  MaxDeliveriesExceeded: 'BUS_MAX_DELIVERIES_EXCEEDED',
  /** No reply came within the timeout. The responder is slow or overloaded. */
  RequestTimeout: 'BUS_REQUEST_TIMEOUT',
  /** Nobody answers requests on that subject: the responding service is down. */
  NoResponders: 'BUS_NO_RESPONDERS',
  /** A request could not be sent (connection problem). */
  RequestFailed: 'BUS_REQUEST_FAILED',
  /** A request body was not JSON; the responder answered with this error. */
  InvalidRequest: 'BUS_INVALID_REQUEST',
  /** A reply was not a JSON reply envelope. The responder is not an lxr bus responder. */
  InvalidReply: 'BUS_INVALID_REPLY',
  /** The responder threw; `remoteCode` and the message say what it reported. */
  RemoteError: 'BUS_REMOTE_ERROR',
  /** A handler threw an error without a code of its own (used in dead letters and error replies). */
  HandlerFailed: 'BUS_HANDLER_FAILED',
} as const;
/** One of the {@link BusErrorCode} strings. */
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

/**
 * An error of the bus, with a stable {@link BusErrorCode}; the underlying NATS error, if any,
 * is its `cause`.
 */
export class BusError extends Error {
  override readonly name: string = 'BusError';
  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The responder of a request failed; `remoteCode` is the code it reported (e.g. `NODE_NOT_FOUND`). */
export class RemoteError extends BusError {
  override readonly name = 'RemoteError';
  constructor(
    /** The request subject. */
    readonly subject: string,
    /** The responder's error code, or `BUS_HANDLER_FAILED` when its error had none. */
    readonly remoteCode: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(BusErrorCode.RemoteError, message, options);
  }
}

/** The stable code of any error: its string `code` if it has one, else `fallback`. */
export function codeOf(error: unknown, fallback: string = BusErrorCode.HandlerFailed): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : fallback;
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
