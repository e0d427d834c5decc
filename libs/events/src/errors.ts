/** Stable codes of the errors this package throws; documented in docs/ERRORS.md. */
export const EventErrorCode = {
  UnknownType: 'EVENT_UNKNOWN_TYPE',
  UnsupportedVersion: 'EVENT_UNSUPPORTED_VERSION',
  Malformed: 'EVENT_MALFORMED',
} as const;
export type EventErrorCode = (typeof EventErrorCode)[keyof typeof EventErrorCode];

/** An event that did not match the catalog: unknown type, unsupported version or bad shape. */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    readonly code: EventErrorCode,
    message: string,
    /** JSON pointer to the offending field, when there is one. */
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
