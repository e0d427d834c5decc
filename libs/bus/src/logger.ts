/**
 * The logging the bus does, as a structural type: a pino logger fits it, and so does a test
 * double. `object` first, message second, as pino takes them.
 */
export interface BusLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A logger that drops everything: the default. */
export const silentLogger: BusLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
