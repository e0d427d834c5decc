// Test helpers of the bus and of the packages built on it, as `@lxr/bus/testing` (like
// `@lxr/telemetry/testing`); never imported by production code.
import { containerStream, newContainerId, type RecordedEvent, uuidv7 } from '@lxr/events';
import type { BusLogger } from './logger.js';

let position = 0;

/** A valid `ContainerRequested` recorded event; `overrides` replace metadata fields. */
export function containerRequested(
  overrides: Partial<RecordedEvent['metadata']> = {},
  data: Record<string, unknown> = {},
): RecordedEvent {
  const containerId = newContainerId();
  position += 1;
  return {
    type: 'ContainerRequested',
    schemaVersion: 1,
    data: {
      containerId,
      name: `c${position}`,
      image: 'golang',
      node: 'node-1',
      env: [],
      labels: {},
      ide: false,
      resources: {},
      ...data,
    },
    metadata: {
      eventId: uuidv7(),
      stream: containerStream(containerId),
      streamVersion: 1,
      position,
      correlationId: containerId,
      causationId: null,
      timestamp: new Date().toISOString(),
      ...overrides,
    },
  };
}

/**
 * Polls `predicate` every 20 ms until it holds, or fails with `message` after `timeoutMs`.
 *
 * @example
 * await waitFor(() => seen.length === 1, 'the first event');
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await sleep(20);
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A logger keeping what it was given, for assertions; set `LXR_TEST_LOG=1` to print too. */
export function memoryLogger(): BusLogger & {
  readonly lines: { level: string; message: string; fields: object }[];
} {
  const lines: { level: string; message: string; fields: object }[] = [];
  const log = (level: string) => (fields: object, message: string) => {
    lines.push({ level, message, fields });
    if (process.env['LXR_TEST_LOG']) console.error(level, message, fields);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A promise with its resolve function, to hold a handler in flight. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
