import { hostname } from 'node:os';
import pino from 'pino';
import type { LogLevel } from './common-config.js';

/** A pino logger. */
export type Logger = pino.Logger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Default `info`. */
  readonly level?: LogLevel;
  /** The node this process runs on; default the host name. */
  readonly node?: string;
  /** Where to write; default stdout, synchronously (nothing is lost on exit). */
  readonly destination?: pino.DestinationStream;
}

/**
 * A pino logger writing one JSON object per line, each with `service`, `node`, `pid`, an ISO
 * `time` and the level as a word. Log errors under `err` to get their stack and cause.
 *
 * @example
 * const logger = createLogger('image-puller', { level: config.logLevel, node: config.node });
 * logger.info({ image: ref }, 'pulling image');
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service, node: options.node ?? hostname(), pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
