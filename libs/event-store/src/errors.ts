import type { ExpectedVersion } from './event-store.js';

/**
 * Stable codes of the errors this package throws. They never change meaning; each is documented
 * in `libs/event-store/README.md` (a test checks it).
 */
export const EventStoreErrorCode = {
  /** The stream was not at the version the writer expected; re-read, re-decide, retry. */
  WrongExpectedVersion: 'EVENT_STORE_WRONG_EXPECTED_VERSION',
  /** An event id given by the writer is already in the log (outside an idempotent replay). */
  DuplicateEventId: 'EVENT_STORE_DUPLICATE_EVENT_ID',
  /** A `readAll` cursor (`after`) is not the position of any event in the log. */
  UnknownPosition: 'EVENT_STORE_UNKNOWN_POSITION',
  /** The append request itself is malformed: empty stream name, bad expected version, a stream twice. */
  InvalidAppend: 'EVENT_STORE_INVALID_APPEND',
  /** The store, runner or relay was used after `close()`/`stop()`. */
  Closed: 'EVENT_STORE_CLOSED',
  /** `rebuild(name)` named no projection the runner was given. */
  UnknownProjection: 'EVENT_STORE_UNKNOWN_PROJECTION',
  /** A schema migration failed; the database is left at the last good migration. */
  MigrationFailed: 'EVENT_STORE_MIGRATION_FAILED',
} as const;
/** One of the {@link EventStoreErrorCode} strings. */
export type EventStoreErrorCode = (typeof EventStoreErrorCode)[keyof typeof EventStoreErrorCode];

/** Base of every error this package throws: test `instanceof EventStoreError` or switch on `code`. */
export class EventStoreError extends Error {
  override readonly name: string = 'EventStoreError';
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The stream was not at the expected version: another writer got there first. Handlers re-read the
 * stream, decide again and retry with `actual` (or the new version they read).
 *
 * @example
 * try { await store.append(stream, version, events); }
 * catch (e) { if (e instanceof WrongExpectedVersionError) return retry(); throw e; }
 */
export class WrongExpectedVersionError extends EventStoreError {
  override readonly name = 'WrongExpectedVersionError';
  declare readonly code: typeof EventStoreErrorCode.WrongExpectedVersion;
  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    /** The stream's version when the conflict was found (0 = no stream). */
    readonly actual: number,
    options?: ErrorOptions,
  ) {
    super(
      EventStoreErrorCode.WrongExpectedVersion,
      `append to stream "${stream}" expected version ${JSON.stringify(expected)} but the stream is at ${actual}; ` +
        're-read the stream and retry',
      options,
    );
  }
}

/** An event id the writer chose is already recorded, and the append is not a replay of that append. */
export class DuplicateEventIdError extends EventStoreError {
  override readonly name = 'DuplicateEventIdError';
  declare readonly code: typeof EventStoreErrorCode.DuplicateEventId;
  constructor(
    readonly eventId: string,
    readonly stream: string,
    options?: ErrorOptions,
  ) {
    super(
      EventStoreErrorCode.DuplicateEventId,
      `event id ${eventId} appended to stream "${stream}" is already in the log; give each new event a new id`,
      options,
    );
  }
}

/** `readAll({ after })` named a position that no event has. */
export class UnknownPositionError extends EventStoreError {
  override readonly name = 'UnknownPositionError';
  declare readonly code: typeof EventStoreErrorCode.UnknownPosition;
  constructor(
    readonly position: number,
    options?: ErrorOptions,
  ) {
    super(
      EventStoreErrorCode.UnknownPosition,
      `position ${position} is not the position of an event in the log; resume from a position the store returned, or 0`,
      options,
    );
  }
}

/** The append request is malformed; nothing was written. */
export class InvalidAppendError extends EventStoreError {
  override readonly name = 'InvalidAppendError';
  declare readonly code: typeof EventStoreErrorCode.InvalidAppend;
  constructor(message: string, options?: ErrorOptions) {
    super(EventStoreErrorCode.InvalidAppend, message, options);
  }
}

/** The store, projection runner or relay was used after it was closed or stopped. */
export class EventStoreClosedError extends EventStoreError {
  override readonly name = 'EventStoreClosedError';
  declare readonly code: typeof EventStoreErrorCode.Closed;
  constructor(what: string, options?: ErrorOptions) {
    super(EventStoreErrorCode.Closed, `${what} is closed`, options);
  }
}

/** The projection runner has no projection of that name. */
export class UnknownProjectionError extends EventStoreError {
  override readonly name = 'UnknownProjectionError';
  declare readonly code: typeof EventStoreErrorCode.UnknownProjection;
  constructor(
    readonly projection: string,
    known: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      EventStoreErrorCode.UnknownProjection,
      `no projection named "${projection}" (known: ${known.join(', ') || 'none'})`,
      options,
    );
  }
}

/** A schema migration failed (the event store's, or another package's run by `migrateSchema`). */
export class MigrationError extends EventStoreError {
  override readonly name = 'MigrationError';
  declare readonly code: typeof EventStoreErrorCode.MigrationFailed;
  constructor(
    /** The schema whose migrations ran, e.g. `lxr_events`. */
    readonly schema: string,
    /** The migration that failed, when known. */
    readonly migration: string | undefined,
    options?: ErrorOptions,
  ) {
    super(
      EventStoreErrorCode.MigrationFailed,
      `${migration ? `migration "${migration}"` : 'a migration'} of schema "${schema}" failed; ` +
        'see the cause, fix the database and migrate again',
      options,
    );
  }
}
