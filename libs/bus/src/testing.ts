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
