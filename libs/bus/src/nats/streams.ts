import { EVENT_SUBJECT_PREFIX, EVENTS_STREAM } from '@lxr/events';
import {
  DiscardPolicy,
  type JetStreamManager,
  NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import { BusError, BusErrorCode, messageOf } from '../errors.js';

/** The JetStream stream holding dead letters. */
export const DLQ_STREAM = 'LXR_DLQ';
/** Prefix of dead-letter subjects: `lxr.dlq.<durable>`. */
export const DLQ_SUBJECT_PREFIX = 'lxr.dlq';
/**
 * How long JetStream remembers a `Nats-Msg-Id`: an event relayed twice within it is stored
 * once. The outbox relay re-publishes at most what it published since its last checkpoint,
 * which is far less than this.
 */
export const EVENTS_DUPLICATE_WINDOW_MS = 10 * 60_000;
/** How long dead letters are kept: long enough for someone to look at them. */
export const DLQ_MAX_AGE_MS = 30 * 24 * 3600_000;

/** The subjects of `LXR_EVENTS`: every event; also a consumer's default filter. */
export const ALL_EVENTS_SUBJECT = `${EVENT_SUBJECT_PREFIX}.>`;

/** The dead-letter subject of a durable consumer. */
export function dlqSubject(durable: string): string {
  return `${DLQ_SUBJECT_PREFIX}.${durable}`;
}

/** Options of {@link ensureStreams}. */
export interface EnsureStreamsOptions {
  /** Replicas of each stream (a JetStream cluster); default 1. */
  readonly replicas?: number;
}

/** The desired configuration of `LXR_EVENTS` and `LXR_DLQ`. */
export function streamConfigs(options: EnsureStreamsOptions = {}): StreamConfig[] {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas ?? 1,
  };
  return [
    {
      ...common,
      name: EVENTS_STREAM,
      description: 'lxr events, fanned out from the PostgreSQL event log (the source of truth)',
      subjects: [ALL_EVENTS_SUBJECT],
      duplicate_window: nanos(EVENTS_DUPLICATE_WINDOW_MS),
    } as StreamConfig,
    {
      ...common,
      name: DLQ_STREAM,
      description: 'lxr events no consumer could handle, per durable consumer',
      subjects: [`${DLQ_SUBJECT_PREFIX}.>`],
      duplicate_window: nanos(2 * 60_000),
      max_age: nanos(DLQ_MAX_AGE_MS),
    } as StreamConfig,
  ];
}

/** True for JetStream's "stream not found" / "consumer not found". */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof NatsError)) return false;
  const code = error.api_error?.err_code;
  return code === 10059 || code === 10014 || error.code === '404';
}

/**
 * Creates `LXR_EVENTS` and `LXR_DLQ`, or updates their mutable settings (subjects, duplicate
 * window, max age) when they exist. Idempotent; every service may call it at start.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  options: EnsureStreamsOptions = {},
): Promise<void> {
  for (const config of streamConfigs(options)) {
    try {
      let existing: StreamConfig | undefined;
      try {
        existing = (await jsm.streams.info(config.name)).config;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (!existing) {
        await jsm.streams.add(config);
      } else if (
        existing.subjects.join() !== config.subjects.join() ||
        existing.duplicate_window !== config.duplicate_window ||
        (existing.max_age ?? 0) !== (config.max_age ?? 0)
      ) {
        await jsm.streams.update(config.name, {
          subjects: config.subjects,
          duplicate_window: config.duplicate_window,
          max_age: config.max_age ?? 0,
        });
      }
    } catch (error) {
      throw new BusError(
        BusErrorCode.StreamSetupFailed,
        `could not create or update the JetStream stream ${config.name}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }
}
