import { eventContext, type LxrEventType } from './catalog.js';

/** Prefix of every event subject on NATS. */
export const EVENT_SUBJECT_PREFIX = 'lxr.events';
/** The JetStream stream that carries every event. */
export const EVENTS_STREAM = 'LXR_EVENTS';

/** The NATS subject an event is published on: `lxr.events.<context>.<type>`. */
export function eventSubject(type: LxrEventType): string {
  return `${EVENT_SUBJECT_PREFIX}.${eventContext(type)}.${type}`;
}

/** The subject filter matching every event of one bounded context. */
export function contextSubject(context: string): string {
  return `${EVENT_SUBJECT_PREFIX}.${context}.>`;
}
