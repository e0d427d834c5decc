/**
 * Stable codes of the errors `@lxr/bus` throws or writes into dead letters. Never change a
 * code's meaning; add a new one instead. Each is described in {@link busErrorDescriptions}.
 */
export const BusErrorCode = {
  ConnectFailed: 'BUS_CONNECT_FAILED',
  Closed: 'BUS_CLOSED',
  StreamSetupFailed: 'BUS_STREAM_SETUP_FAILED',
  InvalidOptions: 'BUS_INVALID_OPTIONS',
  UnknownEventType: 'BUS_UNKNOWN_EVENT_TYPE',
  PublishFailed: 'BUS_PUBLISH_FAILED',
  SubscribeFailed: 'BUS_SUBSCRIBE_FAILED',
  InvalidMessage: 'BUS_INVALID_MESSAGE',
  MaxDeliveriesExceeded: 'BUS_MAX_DELIVERIES_EXCEEDED',
  RequestTimeout: 'BUS_REQUEST_TIMEOUT',
  NoResponders: 'BUS_NO_RESPONDERS',
  RequestFailed: 'BUS_REQUEST_FAILED',
  InvalidRequest: 'BUS_INVALID_REQUEST',
  InvalidReply: 'BUS_INVALID_REPLY',
  RemoteError: 'BUS_REMOTE_ERROR',
  HandlerFailed: 'BUS_HANDLER_FAILED',
} as const;
/** One of the {@link BusErrorCode} strings. */
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

/** What each code means and what to do about it; docs and tests read this. */
export const busErrorDescriptions: Readonly<Record<BusErrorCode, string>> = {
  BUS_CONNECT_FAILED: 'Could not connect to NATS. Check LXR_NATS_URL and that nats-server runs.',
  BUS_CLOSED: 'The bus was used after close(). A shutdown bug in the caller.',
  BUS_STREAM_SETUP_FAILED:
    'Creating or updating the LXR_EVENTS / LXR_DLQ streams failed. Check that JetStream is enabled and has storage.',
  BUS_INVALID_OPTIONS: 'Bad subscribe/connect options (e.g. a durable name with dots). Fix the calling code.',
  BUS_UNKNOWN_EVENT_TYPE: 'publish() got an event type the catalog does not know, so it has no subject.',
  BUS_PUBLISH_FAILED: 'JetStream did not acknowledge a publish (timeout, no JetStream, disconnected). Retry.',
  BUS_SUBSCRIBE_FAILED:
    'The durable consumer could not be created or changed (e.g. its filter subject differs from the existing one).',
  BUS_INVALID_MESSAGE: 'A message on the event stream is not JSON at all; it was dead-lettered.',
  BUS_MAX_DELIVERIES_EXCEEDED:
    'An event failed maxDeliver times (or its handler kept dying); it was dead-lettered to lxr.dlq.<durable>.',
  BUS_REQUEST_TIMEOUT: 'No reply came within the timeout. The responder is slow or overloaded.',
  BUS_NO_RESPONDERS: 'Nobody answers requests on that subject: the responding service is down.',
  BUS_REQUEST_FAILED: 'A request could not be sent (connection problem).',
  BUS_INVALID_REQUEST: 'A request body was not JSON; the responder answered with this error.',
  BUS_INVALID_REPLY: 'A reply was not a JSON reply envelope. The responder is not an lxr bus responder.',
  BUS_REMOTE_ERROR: 'The responder threw; `remoteCode` and the message say what it reported.',
  BUS_HANDLER_FAILED:
    'A handler threw an error without a code of its own (used in dead letters and error replies).',
};

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
