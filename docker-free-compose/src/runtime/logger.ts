import { appendFileSync } from 'node:fs';

/** The supervisor's own log: timestamped lines in `supervisor.log`, echoed to a terminal if there is one. */
export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

/** A logger appending to `file`; also writes to stderr when stderr is a terminal (foreground runs). */
export function fileLogger(file: string): Logger {
  const write = (level: string, message: string) => {
    const line = `${new Date().toISOString()} ${level} ${message}\n`;
    try {
      appendFileSync(file, line);
    } catch {
      // The log directory may be gone (a purge); the terminal still gets the line.
    }
    if (process.stderr.isTTY) process.stderr.write(line);
  };
  return { info: (m) => write('info ', m), error: (m) => write('error', m) };
}
