import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ContainerEvent, type ContainerNameEvent, containerEventSchemas } from './container.events.js';
import { EventErrorCode, EventValidationError } from './errors.js';
import { type IdeEvent, ideEventSchemas } from './ide.events.js';
import { type ImageEvent, imageEventSchemas } from './image.events.js';
import { type LifecycleEvent, lifecycleEventSchemas } from './lifecycle.events.js';
import type { RecordedEvent } from './metadata.js';
import { type NetworkEvent, networkEventSchemas } from './network.events.js';
import { type RootfsEvent, rootfsEventSchemas } from './rootfs.events.js';
import { type VolumeEvent, volumeEventSchemas } from './volume.events.js';

/**
 * Every event lxr knows, as one discriminated union on `type`. A context adds its events here
 * and its schema map to {@link entries}, one line each.
 */
export type LxrEvent =
  | ContainerEvent
  | ContainerNameEvent
  | NetworkEvent
  | ImageEvent
  | LifecycleEvent
  | RootfsEvent
  | VolumeEvent
  | IdeEvent;
export type LxrEventType = LxrEvent['type'];
/** A recorded event of a known type, its `data` typed by `type`. */
export type LxrRecordedEvent = {
  [K in LxrEvent as K['type']]: RecordedEvent<K['type'], K['data']>;
}[LxrEventType];

/** The payload type of an event type. */
export type EventData<T extends LxrEventType> = Extract<LxrEvent, { type: T }>['data'];

/** One event type: its payload schema, schema version and bounded context (its subject's second token). */
export interface CatalogEntry {
  readonly version: number;
  readonly schema: TSchema;
  readonly context: string;
}
const entries: Record<LxrEventType, CatalogEntry> = {
  ...containerEventSchemas,
  ...networkEventSchemas,
  ...lifecycleEventSchemas,
  ...rootfsEventSchemas,
  ...imageEventSchemas,
  ...volumeEventSchemas,
  ...ideEventSchemas,
};
// Compiled on first use of each type: compiling the whole catalog up front costs every process
// (the CLI, each service) start-up time for types it never sees.
const checks = new Map<string, TypeCheck<TSchema>>();
function checkOf(type: LxrEventType): TypeCheck<TSchema> {
  let check = checks.get(type);
  if (!check) {
    check = TypeCompiler.Compile(entries[type].schema);
    checks.set(type, check);
  }
  return check;
}

/** True when `type` is an event type of the catalog. */
export function isKnownEventType(type: string): type is LxrEventType {
  return Object.hasOwn(entries, type);
}

/** The current schema version of an event type. */
export function currentSchemaVersion(type: LxrEventType): number {
  return entries[type].version;
}

/** The bounded context an event type belongs to (`container`, `image`, …). */
export function eventContext(type: LxrEventType): string {
  return entries[type].context;
}

/** The JSON Schema of an event type's payload, e.g. for OpenAPI. */
export function eventDataSchema(type: LxrEventType): TSchema {
  return entries[type].schema;
}

/** All event types, e.g. for documentation and tests. */
export function eventTypes(): readonly LxrEventType[] {
  return Object.keys(entries) as LxrEventType[];
}

/**
 * Checks an event payload against the catalog and narrows its type. Throws
 * {@link EventValidationError} naming the field at fault; never returns an unchecked value.
 *
 * @example
 * const data = validateEventData('ContainerRequested', 1, body.data);
 */
export function validateEventData<T extends LxrEventType>(
  type: T | string,
  schemaVersion: number,
  data: unknown,
): EventData<T> {
  if (!isKnownEventType(type)) {
    throw new EventValidationError(EventErrorCode.UnknownType, `unknown event type "${type}"`);
  }
  const entry = entries[type];
  if (schemaVersion !== entry.version) {
    throw new EventValidationError(
      EventErrorCode.UnsupportedVersion,
      `${type} schema version ${schemaVersion} is not supported (current: ${entry.version})`,
    );
  }
  const check = checkOf(type);
  if (!check.Check(data)) {
    const first = check.Errors(data).First();
    const path = first?.path || '/';
    throw new EventValidationError(
      EventErrorCode.Malformed,
      `${type} is malformed at data${path === '/' ? '' : path}: ${first?.message ?? 'invalid'}`,
      path,
    );
  }
  return data as EventData<T>;
}

/** A JSON object (or array) to read fields from: what an untyped payload is checked with first. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Parses a recorded event arriving from outside the process (NATS, SSE, the database) and
 * validates envelope, metadata and payload. Use it where an event enters a service.
 */
export function parseRecordedEvent(raw: unknown): LxrRecordedEvent {
  if (!isRecord(raw)) throw malformed('event is not an object', '/');
  const { type, schemaVersion, data, metadata } = raw;
  if (typeof type !== 'string') throw malformed('event has no string "type"', '/type');
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion)) {
    throw malformed(`${type} has no integer "schemaVersion"`, '/schemaVersion');
  }
  if (!isRecord(metadata)) throw malformed(`${type} has no "metadata" object`, '/metadata');
  for (const key of ['eventId', 'stream', 'correlationId', 'timestamp'] as const) {
    if (typeof metadata[key] !== 'string' || metadata[key] === '') {
      throw malformed(`${type} metadata.${key} must be a non-empty string`, `/metadata/${key}`);
    }
  }
  for (const key of ['streamVersion', 'position'] as const) {
    const value = metadata[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw malformed(`${type} metadata.${key} must be a non-negative integer`, `/metadata/${key}`);
    }
  }
  if (metadata['causationId'] !== null && typeof metadata['causationId'] !== 'string') {
    throw malformed(`${type} metadata.causationId must be a string or null`, '/metadata/causationId');
  }
  validateEventData(type, schemaVersion, data);
  return raw as unknown as LxrRecordedEvent;
}

function malformed(message: string, path: string): EventValidationError {
  return new EventValidationError(EventErrorCode.Malformed, message, path);
}
