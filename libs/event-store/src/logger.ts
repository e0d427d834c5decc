/**
 * The logging the event store needs: pino-compatible (`logger.warn({ err }, 'message')`), so a
 * service passes its pino logger; defaults to {@link silentLogger}.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A {@link Logger} that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
